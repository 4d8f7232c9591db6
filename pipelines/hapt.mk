# pipelines/hapt.mk — UCI HAPT as a temporal action localisation benchmark.
#
# Reproduces: data/build/hapt-train.tal and data/build/hapt-test.tal from
# the raw smartphone signals shipped in data/hapt/ (no network), with the
# dataset's own volunteer split (its README: 70 % of the 30 volunteers
# train, 30 % test; the test volunteers are 2 4 9 10 12 13 18 20 24).
# Cost: about 2 s of one core; 7 MB written.
#
#   make hapt                          (the top Makefile runs this file)
#   make -f pipelines/hapt.mk          the same
#   make -f pipelines/hapt.mk clean    remove what it wrote
#
# Each experiment (one volunteer doing the protocol, 3 to 11 min at 50 Hz)
# is one sequence: acc_expXX_userYY.txt.gz (acceleration x y z, g) and
# gyro_expXX_userYY.txt.gz (angular speed x y z, rad/s) joined into six
# channels, plus the magnitude of each sensor; a 2 s window every 0.5 s
# gives per channel mean, sd, min, max, energy and mean absolute first
# difference: 8 x 6 = 48 features per snippet, snippet t covering samples
# [25t, 25t + 100).  Labels are RawData/labels.txt (exp, user, activity,
# start sample, end sample) with the 12 names of activity_labels.txt.
# Completion is marked by data/build/hapt.done, which holds the stats.

HAPT     ?= data/hapt
OUT      ?= data/build
BIN      ?= bin
# the dataset's test volunteers; every other volunteer trains
HAPT_TEST_USERS ?= 2 4 9 10 12 13 18 20 24
HAPT_WINDOW ?= 100
HAPT_HOP    ?= 25

HAPT_PACK = --features $(HAPT)/RawData --feature-ext txt.gz --parts 'acc_{},gyro_{}' \
            --magnitude 1-3,4-6 --sample-rate 50 --window $(HAPT_WINDOW) --hop $(HAPT_HOP) \
            --segment-table $(HAPT)/RawData/labels.txt --table-id 'exp{1:02}_user{2:02}' \
            --table-columns 4,5,3 --classes $(HAPT)/activity_labels.txt

.PHONY: hapt clean hapt-clean FORCE
hapt: $(OUT)/hapt.done

# The tools come from the top Makefile (a no-op when they are up to date),
# unless the caller names them with BIN=... (the tests do).
ifneq ($(origin BIN),command line)
$(BIN)/featpack $(BIN)/talcat: FORCE
	@$(MAKE) --no-print-directory -f Makefile $@
endif

# Sequence ids (expXX_userYY) of each part of the split, from labels.txt.
$(OUT)/hapt-test.ids $(OUT)/hapt-train.ids: $(HAPT)/RawData/labels.txt pipelines/hapt.mk
	@mkdir -p $(@D)
	awk -v users=" $(strip $(HAPT_TEST_USERS)) " -v want=$(if $(findstring test,$@),1,0) \
	    '{ id = sprintf("exp%02d_user%02d", $$1, $$2); if (id in seen) next; seen[id] = 1; \
	       if ((index(users, " " ($$2 + 0) " ") > 0) == want) print id }' $< > $@.tmp
	mv $@.tmp $@

$(OUT)/hapt-%.tal: $(OUT)/hapt-%.ids $(BIN)/featpack $(HAPT)/activity_labels.txt
	$(BIN)/featpack -q $(HAPT_PACK) --ids $< --role $* -o $@

$(OUT)/hapt.done: $(OUT)/hapt-train.tal $(OUT)/hapt-test.tal $(BIN)/talcat
	{ for s in train test; do echo "== hapt-$$s.tal"; $(BIN)/talcat --stats $(OUT)/hapt-$$s.tal || exit 1; done; } > $@.tmp
	mv $@.tmp $@
	@sed -n '/^== /{p;n;p}' $@

clean hapt-clean:
	rm -f $(OUT)/hapt-train.tal $(OUT)/hapt-test.tal $(OUT)/hapt-train.ids $(OUT)/hapt-test.ids $(OUT)/hapt.done
