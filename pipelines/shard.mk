# pipelines/shard.mk — one detection (or any one-to-one tool) run in
# SHARDS pieces side by side and concatenated: the records of one run.
#
#   make -f pipelines/shard.mk -j4 SHARDS=4 MODEL=m.ckpt IN=test.tal OUT=dets.tal
#   make -f pipelines/shard.mk -j2 SHARDS=2 RUN='bin/softnms -q' IN=dets.tal OUT=nms.tal
#
# Each shard is `$(RUN) --shard I/SHARDS IN -o OUT.I` (tools' --shard: the
# sequences whose id hashes to I); OUT is their concatenation in shard
# order, written under a temporary name and renamed when every shard has
# succeeded.  The parts are removed after.  RUN defaults to tal-detect on
# MODEL with one thread per shard (THREADS); ARGS are added to it.  Under
# MPI the same split runs one shard per rank (README, "Sharded runs").

SHARDS  ?= 2
BIN     ?= bin
THREADS ?= 1
ARGS    ?=
RUN     ?= $(BIN)/tal-detect -q --threads $(THREADS) $(ARGS) $(MODEL)

ifndef IN
$(error IN= the input stream)
endif
ifndef OUT
$(error OUT= the output stream)
endif

PARTS := $(addprefix $(OUT).,$(shell seq 0 $$(($(SHARDS) - 1))))

$(OUT): $(PARTS)
	cat $(PARTS) > $@.tmp && mv $@.tmp $@ && rm -f $(PARTS)

$(OUT).%: $(IN)
	$(RUN) --shard $*/$(SHARDS) $(IN) -o $@.tmp && mv $@.tmp $@

.DELETE_ON_ERROR:
.INTERMEDIATE: $(PARTS)
