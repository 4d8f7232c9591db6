# talcore — one non-recursive Makefile.
#
#   make                 libtalcore (static) and every tool into bin/
#   make check           C unit tests, then every test/<tool>.bats; ends with
#                        one line "N passed, N failed"
#   make demo            the longest pipeline that works, on shipped data
#   make hapt            UCI HAPT benchmark streams (pipelines/hapt.mk)
#   make results-supervised  supervised baselines on HAPT and synthetic THUMOS14
#   make results-nontarget   semi-supervised: learning from non-target classes
#                        (pipelines/nontarget.sh; QUICK=1 for a smoke run)
#   make results-ttc     TTC-Loc, weak and semi-weak (pipelines/ttc.sh; QUICK=1 smoke run)
#   make results-apl     APL: ALQA, ICD, ACP (pipelines/apl.sh; QUICK=1 smoke run)
#   make results-points  FS-PTAL, point supervision (JOBS=n, THREADS=n, QUICK=1 smoke run)
#   make install         bin/ and man/ under $(DESTDIR)$(PREFIX)
#   make SAN=1 [check]   the same with AddressSanitizer + UBSan
#   make CUDA=0|1|auto   CUDA kernels: never, always, when nvcc is found
#   make BLAS=onednn|openblas|auto  matrix products: oneDNN or OpenBLAS (auto: oneDNN
#                        when libdnnl is found)
#   make MPI=0|1|auto    data-parallel tal-train under mpirun (auto: when MPI links)
#   make fuzz            libFuzzer targets (clang) into build/fuzz/
#   make bench-io        packing/reading throughput (pipelines/bench-io.sh)
#   make bench-eval PEER=DIR  tal-map beside ActionFormer's ActivityNet evaluation
#                        (DIR: a checkout of it), and softnms (pipelines/bench-eval.sh)
#   make bench-core      compute core vs PyTorch, time and memory (pipelines/bench-core.sh)
#   make bench-conv      talcore's convolutions vs oneDNN's convolution primitives
#                        (pipelines/bench/conv_primitives.c; oneDNN build)
#   make bench-train     ActionFormer-style training epoch and detection pass vs PyTorch
#                        (pipelines/bench-train.sh)
#   make bench-scale     data-parallel tal-train: 1 rank x 2 threads, 2 ranks over shared
#                        memory and TCP; projection to 8-128 ranks (pipelines/bench-scale.sh)
#   make bench-cuda      one THUMOS-size training step on a GPU vs PyTorch
#                        (pipelines/bench-cuda.sh; needs a GPU)
#   make check-cuda-sanitize  the CUDA parity tests under compute-sanitizer
#                        memcheck and racecheck (needs a GPU)
#   make reference       regenerate test/data/ref with PyTorch (test/ref/gen_reference.py)
#
# Sources are found by wildcard: a new lib/<layer>/x.c, tools/<tool>.c or
# test/unit/test_x.c joins the build without editing this file.

PREFIX  ?= /usr/local
DESTDIR ?=
bindir  := $(PREFIX)/bin
man1dir := $(PREFIX)/share/man/man1
man5dir := $(PREFIX)/share/man/man5
man7dir := $(PREFIX)/share/man/man7

CC      ?= cc
OPT     ?= -O2
SAN     ?= 0
CUDA    ?= auto
BLAS    ?= auto
MPI     ?= auto
VERSION := 0.1.0

# Dependencies are checked once per choice of MPI (MPI=0 asks for less);
# delete build/.deps-ok* to check again.
DEPS_OK := build/.deps-ok$(if $(filter 0,$(MPI)),-nompi)

# A fresh clone's first make, as root: install what is missing
# (build-aux/deps.sh) before the probes below look for oneDNN and MPI, so
# that the first build is the one the machine can make, not a fallback.
# (Not root: the $(DEPS_OK) rule below prints the command to run.)
ifeq ($(filter clean uninstall deps,$(MAKECMDGOALS)),)
  DEPS_FIRST := $(shell [ $(DEPS_OK) -nt build-aux/deps.sh ] || [ "`id -u`" != 0 ] || \
                  { MPI=$(MPI) sh build-aux/deps.sh build 1>&2 && mkdir -p build && touch $(DEPS_OK); })
endif

OPENBLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
OPENBLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)

# ---- matrix products (lib/backends/cpu_gemm.c) ------------------------------
# oneDNN's sgemm picks its kernels from the CPU itself; OpenBLAS obeys
# OPENBLAS_CORETYPE, which these machines pin to Haswell (AVX2 on an
# AVX-512 CPU): 190-200 GFLOP/s against oneDNN's 330-410 on the network's
# shapes, 2 threads.  BLAS=auto uses oneDNN when libdnnl links, else
# OpenBLAS (which stays linked for the rest of the CPU backend either way).
ifeq ($(BLAS),auto)
  ifneq ($(filter-out clean uninstall,$(or $(MAKECMDGOALS),all)),)
    BLAS_USE := $(shell printf '\043include <oneapi/dnnl/dnnl.h>\nint main(void){return dnnl_sgemm(0,0,0,0,0,0,0,0,0,0,0,0,0);}\n' | \
                  $(CC) -x c - -o /dev/null -ldnnl 2>/dev/null && echo onednn || echo openblas)
  endif
else ifeq ($(BLAS),onednn)
  BLAS_USE := onednn
else ifeq ($(BLAS),openblas)
  BLAS_USE := openblas
else
  $(error BLAS=$(BLAS): use onednn, openblas or auto)
endif
ifeq ($(BLAS_USE),onednn)
  BLAS_CPPFLAGS := -DTAL_HAVE_ONEDNN=1
  BLAS_LIBS     := -ldnnl
endif

CPPFLAGS += -Ilib -DTAL_VERSION='"$(VERSION)"' $(OPENBLAS_CFLAGS) $(BLAS_CPPFLAGS)
CFLAGS   ?= $(OPT) -g
CFLAGS   += -std=gnu11 -Wall -Wextra -fopenmp -fno-strict-aliasing
LDLIBS   += $(BLAS_LIBS) $(OPENBLAS_LIBS) -ljansson -lyaml -lz -lm -fopenmp

ifeq ($(SAN),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=address,undefined
  VARIANT := san
else
  VARIANT := rel
endif

# ---- MPI (tools/mpi/: tal-train's data-parallel training) -------------------
# Found through pkg-config's mpi-c (Debian's Open MPI or MPICH), else the
# mpicc wrapper's flags.  Only tal-train links it; the library and the
# other tools never do.  (Not asked for a clean or with MPI=0.)
MPI_PROBE := $(if $(filter 0,$(MPI)),,$(filter-out clean uninstall,$(or $(MAKECMDGOALS),all)))
ifneq ($(MPI_PROBE),)
  MPI_CFLAGS := $(or $(shell pkg-config --cflags mpi-c 2>/dev/null),$(shell mpicc --showme:compile 2>/dev/null))
  MPI_LIBS   := $(or $(shell pkg-config --libs mpi-c 2>/dev/null),$(shell mpicc --showme:link 2>/dev/null))
  MPI_LINKS  := $(shell printf '\043include <mpi.h>\nint main(void){return MPI_Init(0,0);}\n' | \
                  $(CC) -x c - -o /dev/null $(MPI_CFLAGS) $(MPI_LIBS) 2>/dev/null && echo y)
endif
ifeq ($(MPI),auto)
  USE_MPI := $(if $(MPI_LINKS),1,0)
else ifeq ($(MPI),1)
  USE_MPI := 1
  ifneq ($(MPI_PROBE),)
    ifneq ($(MPI_LINKS),y)
      $(error MPI=1 but no MPI links (pkg-config mpi-c, mpicc): install libopenmpi-dev)
    endif
  endif
else ifeq ($(MPI),0)
  USE_MPI := 0
else
  $(error MPI=$(MPI): use 0, 1 or auto)
endif

# ---- CUDA (kernels/) -----------------------------------------------------
# Machine code for sm_80 (A100) and sm_90 (H100/H200), plus sm_90 PTX that
# the driver compiles for newer GPUs; set CUDA_ARCH for others, e.g.
# CUDA_ARCH='-gencode arch=compute_89,code=sm_89'.  The CUDA runtime is
# linked statically and cuBLAS opened at run time (lib/backends/cuda.h), so
# the binaries load, and fall back to the CPU, where CUDA is absent.
NVCC      ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90]
NVCCFLAGS ?= -O2
KERNEL_SRC := $(wildcard kernels/*.cu)
# The runtime library lives beside the toolkit nvcc really runs, which is not
# always the directory above the nvcc on PATH (a wrapper script in
# /usr/local/bin, say): ask nvcc for its TOP and look where toolkits keep
# libcudart_static.a; then in $CUDA_HOME; then where the C compiler finds
# libraries by itself (distribution packages put it in /usr/lib/<triplet>).
cudart_in = $(if $(1),$(firstword $(wildcard $(1)/lib64/libcudart_static.a \
              $(1)/targets/$(shell uname -m)-linux/lib/libcudart_static.a $(1)/lib/libcudart_static.a)))
# (none of it for CUDA=0 or a clean: nvcc and the compiler are asked only
# when the answer is used)
CUDA_PROBE := $(if $(NVCC),$(if $(filter 0,$(CUDA)),,$(filter-out clean uninstall,$(or $(MAKECMDGOALS),all))))
ifneq ($(CUDA_PROBE),)
  CUDA_TOP    := $(realpath $(shell $(NVCC) -dryrun -x cu /dev/null 2>&1 | sed -n 's/^\#\$$ TOP=//p' | head -n 1))
  CUDART_A    := $(or $(call cudart_in,$(CUDA_TOP)),$(call cudart_in,$(CUDA_HOME)), \
                   $(filter /%,$(shell $(CC) -print-file-name=libcudart_static.a 2>/dev/null)))
  CUDA_HOME   := $(or $(CUDA_TOP),$(CUDA_HOME))
  CUDA_LIBDIR := $(or $(CUDA_LIBDIR),$(patsubst %/libcudart_static.a,%,$(CUDART_A)))
endif
ifeq ($(CUDA),auto)
  ifneq ($(NVCC),)
    # auto never breaks a build: the runtime must also link, or CPU only
    CUDA_LINKS := $(if $(CUDA_LIBDIR),$(shell printf 'int main(void){return 0;}\n' | \
                    $(CC) -x c - -o /dev/null -L$(CUDA_LIBDIR) -lcudart_static -ldl -lrt -lpthread -lstdc++ 2>/dev/null && echo y))
    ifeq ($(CUDA_LINKS),y)
      USE_CUDA := 1
    else ifneq ($(CUDA_LIBDIR),)
      USE_CUDA := 0
      CUDA_WHY := nvcc found at $(NVCC) but $(CUDA_LIBDIR)/libcudart_static.a does not link: CPU only
    else
      USE_CUDA := 0
      CUDA_WHY := nvcc found at $(NVCC) but not libcudart_static.a under $(or $(CUDA_HOME),its toolkit): CPU only (set CUDA_LIBDIR=)
    endif
  else
    USE_CUDA := 0
    CUDA_WHY := nvcc not found: CPU only (CUDA=1 to insist)
  endif
else
  USE_CUDA := $(CUDA)
endif
ifeq ($(USE_CUDA),1)
  ifeq ($(NVCC),)
    $(error CUDA=1 but nvcc was not found: install the CUDA toolkit or set NVCC=/path/to/nvcc)
  endif
  ifneq ($(KERNEL_SRC),)
    ifeq ($(CUDA_LIBDIR),)
      $(error CUDA=1 but libcudart_static.a was not found beside $(NVCC) (toolkit $(CUDA_HOME)): set CUDA_LIBDIR=/path/to/lib64)
    endif
    VARIANT := $(VARIANT)-cuda
    CPPFLAGS += -DTAL_HAVE_CUDA=1
    LDLIBS += -L$(CUDA_LIBDIR) -lcudart_static -ldl -lrt -lpthread -lstdc++
  endif
endif

ifeq ($(BLAS_USE),openblas)
  VARIANT := $(VARIANT)-openblas
endif
BUILD := build/$(VARIANT)

# ---- sources ---------------------------------------------------------------
LIB_SRC    := $(sort $(wildcard lib/*/*.c))
TOOL_SRC   := $(sort $(wildcard tools/*.c))
COMMON_SRC := $(sort $(wildcard tools/common/*.c))
UNIT_SRC   := $(sort $(wildcard test/unit/*.c))
FUZZ_SRC   := $(sort $(wildcard test/fuzz/fuzz_*.c))
TESTUTIL_SRC := $(sort $(wildcard test/util/*.c))

LIB_OBJ    := $(LIB_SRC:%.c=$(BUILD)/%.o)
ifeq ($(USE_CUDA)$(if $(KERNEL_SRC),y,n),1y)
  LIB_OBJ  += $(KERNEL_SRC:%.cu=$(BUILD)/%.o)
endif
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
UNIT_OBJ   := $(UNIT_SRC:%.c=$(BUILD)/%.o)
TOOLS      := $(TOOL_SRC:tools/%.c=bin/%)
LIBTAL     := $(BUILD)/libtalcore.a
UNIT_BIN   := $(BUILD)/test/unit-tests
TESTUTILS  := $(TESTUTIL_SRC:test/util/%.c=$(BUILD)/test/%)

.PHONY: all check demo hapt results-supervised results-nontarget results-ttc results-apl results-points install installdirs uninstall clean fuzz bench-io bench-eval deps cuda-info bench-core bench-conv need-onednn bench-train reference \
        bench-cuda bench-scale check-cuda-sanitize need-cuda
.DEFAULT_GOAL := all
# keep intermediate objects (test utilities), so that nothing rebuilds twice
.SECONDARY:

all: cuda-info $(TOOLS)

cuda-info:
ifeq ($(CUDA),auto)
	@echo "cuda: $(if $(CUDA_WHY),$(CUDA_WHY),nvcc found at $(NVCC) (runtime in $(CUDA_LIBDIR))$(if $(KERNEL_SRC),: building kernels/,; kernels/ is empty: CPU only))"
endif
ifeq ($(MPI),auto)
	@echo "mpi: $(if $(filter 1,$(USE_MPI)),found: tal-train trains data-parallel under mpirun,not found (libopenmpi-dev): tal-train trains in one process)"
endif

$(DEPS_OK): build-aux/deps.sh
	@mkdir -p $(@D)
	@MPI=$(MPI) sh build-aux/deps.sh build
	@touch $@

deps:
	@sh build-aux/deps.sh check

# Which variant bin/ was linked from: relink when it changes.
VARIANT_STAMP := bin/.variant
$(shell mkdir -p bin; [ "`cat $(VARIANT_STAMP) 2>/dev/null`" = "$(VARIANT)" ] || echo $(VARIANT) > $(VARIANT_STAMP))

# The compiler and flags every object of this variant was built with:
# rebuild when they change (a flag can change results, and an object left
# from other flags would mix the two builds).
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(CPPFLAGS) $(CFLAGS) | $(NVCC) $(NVCCFLAGS) $(CUDA_ARCH)
$(shell mkdir -p $(BUILD); [ "`cat $(FLAGS_STAMP) 2>/dev/null`" = '$(subst ','"'"',$(FLAGS_NOW))' ] || \
    printf '%s\n' '$(subst ','"'"',$(FLAGS_NOW))' > $(FLAGS_STAMP))

# The CPU kernels are written as plain loops for the vectoriser; -O3 (not
# -O2's "very cheap" cost model) is what turns them into SIMD code, and
# -fno-trapping-math lets it evaluate both arms of a select (talcore never
# enables floating-point traps; results are the same IEEE operations).
$(BUILD)/lib/backends/%.o: CFLAGS += -O3 -fno-trapping-math

$(BUILD)/%.o: %.c $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MT $@ -MMD -MP -MF $(@:.o=.d) -c -o $@ $<

$(BUILD)/kernels/%.o: kernels/%.cu $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(NVCC) $(NVCCFLAGS) $(CUDA_ARCH) -std=c++17 -Ilib -DTAL_CUDA_LIBDIR='"$(CUDA_LIBDIR)"' \
	    -Xcompiler -fPIC,-Wall,-Wextra -Werror all-warnings -MD -MT $@ -MF $(@:.o=.d) -c -o $@ $<

$(LIBTAL): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

bin/%: $(BUILD)/tools/%.o $(COMMON_OBJ) $(LIBTAL) $(VARIANT_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(COMMON_OBJ) $(LIBTAL) $(LDLIBS)

# tal-train with its MPI processes (tools/mpi/dist.c), one object per
# choice so that switching MPI= relinks and rebuilds nothing else
MPI_STAMP := $(BUILD)/.mpi
$(shell mkdir -p $(BUILD); [ "`cat $(MPI_STAMP) 2>/dev/null`" = "$(USE_MPI)" ] || echo $(USE_MPI) > $(MPI_STAMP))
DIST_OBJ := $(BUILD)/tools/mpi/dist-$(if $(filter 1,$(USE_MPI)),mpi,none).o
$(BUILD)/tools/mpi/dist-mpi.o: CPPFLAGS += -DTAL_HAVE_MPI=1 $(MPI_CFLAGS)
$(BUILD)/tools/mpi/dist-mpi.o $(BUILD)/tools/mpi/dist-none.o: tools/mpi/dist.c $(FLAGS_STAMP) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MT $@ -MMD -MP -MF $(@:.o=.d) -c -o $@ $<
bin/tal-train: $(BUILD)/tools/tal-train.o $(DIST_OBJ) $(COMMON_OBJ) $(LIBTAL) $(VARIANT_STAMP) $(MPI_STAMP)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(DIST_OBJ) $(COMMON_OBJ) $(LIBTAL) $(LDLIBS) $(if $(filter 1,$(USE_MPI)),$(MPI_LIBS))

$(UNIT_BIN): $(UNIT_OBJ) $(COMMON_OBJ) $(LIBTAL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(UNIT_OBJ) $(COMMON_OBJ) $(LIBTAL) $(LDLIBS)

$(BUILD)/test/%: $(BUILD)/test/util/%.o $(LIBTAL)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBTAL) $(LDLIBS)

# ---- tests -------------------------------------------------------------------
# OpenMP threads wait passively in the tests: on a machine shared with other
# jobs, spinning workers that lose their core make every parallel region
# wait for a scheduler time slice (a 50x slowdown measured with one core
# busy elsewhere).  Set OMP_WAIT_POLICY to override.
check: all $(UNIT_BIN) $(TESTUTILS)
	@sh build-aux/deps.sh check
	@OMP_WAIT_POLICY=$${OMP_WAIT_POLICY:-passive} UNIT_BIN=$(UNIT_BIN) TALGEN=$(BUILD)/test/talgen SAN=$(SAN) BUILD=$(BUILD) sh test/run-checks.sh

# libFuzzer targets need clang; `make check` runs each briefly when present.
FUZZ_CC     ?= clang
FUZZ_FLAGS  := -g -O1 -fsanitize=fuzzer,address,undefined -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
FUZZ_BINS   := $(FUZZ_SRC:test/fuzz/%.c=build/fuzz/%)
fuzz: $(FUZZ_BINS)
# (checkpoints need the nn layer, which the fuzz targets do not link)
FUZZ_LIB_SRC := $(filter-out lib/io/checkpoint.c,$(sort $(wildcard lib/util/*.c lib/io/*.c lib/data/*.c)))
build/fuzz/%: test/fuzz/%.c $(FUZZ_LIB_SRC) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_FLAGS) -Wno-unknown-pragmas -o $@ $< $(FUZZ_LIB_SRC) $(BLAS_LIBS) $(OPENBLAS_LIBS) -ljansson -lyaml -lz -lm

# ---- demo, benchmarks ---------------------------------------------------
demo: all
	@sh pipelines/demo.sh

# The supervised baselines (pipelines/RESULTS-supervised.md); ~45 minutes.
results-supervised: all
	@sh pipelines/supervised.sh

# Learning from non-target classes (pipelines/RESULTS-nontarget.md, whose
# cost section gives the measured time): JOBS=2 parts side by side,
# THREADS=1 per tool, QUICK=1: a smoke run; ROUNDS=N: rounds of pseudo
# labels; BENCHES, FRACS, ABLATIONS, FLATS, AGAIN: the parts to run.
results-nontarget: all
	@sh pipelines/nontarget.sh

# TTC-Loc on synthetic THUMOS14 and ActivityNet and on HAPT, with the
# paper's tables (pipelines/RESULTS-ttc.md); JOBS=2 parts side by side,
# THREADS=1 per tool, QUICK=1 (smoke).
results-ttc: all
	@sh pipelines/ttc.sh

# APL's three stages against supervised-only, the fixed-threshold baseline
# and learning from non-target classes (pipelines/RESULTS-apl.md); JOBS,
# THREADS, SEEDS, QUICK=1 (smoke run).
results-apl: all
	@sh pipelines/apl.sh

# FS-PTAL, point-supervised localization (pipelines/RESULTS-points.md): JOBS=2 parts
# side by side, THREADS=1 per tool, QUICK=1 (smoke); cost in that file.
results-points: all
	@sh pipelines/points.sh

hapt: all
	@$(MAKE) --no-print-directory -f pipelines/hapt.mk BIN=bin

bench-io: all $(TESTUTILS)
	@TALGEN=$(BUILD)/test/talgen sh pipelines/bench-io.sh

# tal-map and the peer on ActivityNet-scale input, softnms on THUMOS-scale
# candidates; a few minutes, nearly all the peer's.
bench-eval: all $(TESTUTILS)
	@sh build-aux/deps.sh bench
	@BUILD=$(BUILD) sh pipelines/bench-eval.sh $(PEER)

# The compute core against PyTorch (2 threads each, forward + backward):
# per-op rows at ActionFormer sizes and the ActionFormer-style network; ends
# with "core: talcore/pytorch time <r>x, memory <m>x".  About 5 minutes.
BENCH_CORE := $(BUILD)/bench/core-bench
$(BENCH_CORE): pipelines/bench/core_bench.c $(LIBTAL)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBTAL) $(LDLIBS)

bench-core: $(BENCH_CORE)
	@CORE_BENCH=$(BENCH_CORE) sh pipelines/bench-core.sh

# talcore's convolutions (one product per tap) against oneDNN's convolution
# primitives at the THUMOS-size network's shapes, in one process; needs the
# oneDNN build.  About a minute.
BENCH_CONV := $(BUILD)/bench/conv-primitives
$(BENCH_CONV): pipelines/bench/conv_primitives.c $(LIBTAL)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBTAL) $(LDLIBS)

bench-conv: need-onednn $(BENCH_CONV)
	$(BENCH_CONV)

need-onednn:
	@[ "$(BLAS_USE)" = onednn ] || { echo "this target needs the oneDNN build: BLAS=onednn (libdnnl not found or BLAS=openblas)" >&2; exit 1; }

# A training epoch and a detection pass of the ActionFormer-style detector,
# tal-train/tal-detect beside a PyTorch implementation of the same model
# (pipelines/bench/train_torch.py), same data, same threads; ends with
# "train: talcore/pytorch epoch time <r>x, detect time <d>x".  About
# 30-45 minutes (SIZES=small: 5); see pipelines/bench-train.sh.
bench-train: all
	@sh pipelines/bench-train.sh

# One training step (forward + backward + AdamW) of the ActionFormer-style
# network at THUMOS size on a GPU, talcore beside PyTorch on the same GPU;
# ends with "cuda: talcore/pytorch step time <r>x, peak memory <m>x on
# <device>".  About 2 minutes on an H100; never run yet (no GPU was
# available where it was written).
bench-scale: all
	@sh pipelines/bench-scale.sh

BENCH_CUDA := $(BUILD)/bench/cuda-bench
$(BENCH_CUDA): pipelines/bench/cuda_bench.c $(LIBTAL)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIBTAL) $(LDLIBS)

bench-cuda: need-cuda $(BENCH_CUDA)
	@CUDA_BENCH=$(BENCH_CUDA) sh pipelines/bench-cuda.sh

# The CUDA parity tests (test/unit/test_cuda.c: every op against the CPU,
# a training step, the allocator) under NVIDIA's compute-sanitizer: memcheck
# (out-of-bounds and misaligned accesses; no leak check, since the allocator
# keeps its cache to the end by design), then racecheck (shared-memory
# hazards).  Fails on any report; needs a GPU.
SANITIZER ?= $(shell command -v compute-sanitizer 2>/dev/null || ls $(CUDA_HOME)/bin/compute-sanitizer 2>/dev/null)
check-cuda-sanitize: need-cuda $(UNIT_BIN)
	@[ -n "$(SANITIZER)" ] || { echo "check-cuda-sanitize: compute-sanitizer not found (set SANITIZER=)" >&2; exit 1; }
	$(SANITIZER) --tool memcheck --error-exitcode 1 $(UNIT_BIN) cuda
	$(SANITIZER) --tool racecheck --racecheck-report all --error-exitcode 1 $(UNIT_BIN) cuda

need-cuda:
	@[ "$(USE_CUDA)" = 1 ] || { echo "this target needs the CUDA backend: make CUDA=1 (nvcc not found or CUDA=0)" >&2; exit 1; }

# Reference outputs of the op set from Debian's python3-torch (installed if
# missing); the unit tests read them without Python.
reference:
	@sh build-aux/deps.sh torch
	/usr/bin/python3 test/ref/gen_reference.py test/data/ref

# ---- install -----------------------------------------------------------------
installdirs:
	mkdir -p $(DESTDIR)$(bindir) $(DESTDIR)$(man1dir) $(DESTDIR)$(man5dir) $(DESTDIR)$(man7dir)

install: all installdirs
	install -m 755 $(TOOLS) $(DESTDIR)$(bindir)
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(man1dir)
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(man5dir)
	install -m 644 $(wildcard man/*.7) $(DESTDIR)$(man7dir)

uninstall:
	rm -f $(TOOLS:bin/%=$(DESTDIR)$(bindir)/%) \
	      $(patsubst man/%,$(DESTDIR)$(man1dir)/%,$(wildcard man/*.1)) \
	      $(patsubst man/%,$(DESTDIR)$(man5dir)/%,$(wildcard man/*.5)) \
	      $(patsubst man/%,$(DESTDIR)$(man7dir)/%,$(wildcard man/*.7))

clean:
	rm -rf build bin

-include $(wildcard $(BUILD)/*/*.d $(BUILD)/*/*/*.d $(BUILD)/*/*/*/*.d)
