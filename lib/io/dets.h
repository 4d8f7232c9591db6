/* dets.h — detection files: the THUMOS14 kit's text, and a fast reader for
 * ActivityNet results JSON.
 *
 * THUMOS14 kit text (dets_txt.c).  One detection per line: "video start end class_id score", separated by
 * blanks (TH14evaldet.m reads it with textread '%s%f%f%d%f').  Class ids
 * are the kit's external ids (7 = BaseballPitch, ...), matched against the
 * ext_ids of the set's class table (a class list such as det.txt gives
 * them).  A trailing ".mp4" or ".mpeg" on the video name is removed, as
 * the kit does.  Rows whose start is after their end are kept as they are
 * (the kit orders each interval's ends; other protocols decide for
 * themselves).  Blank lines are skipped.
 */
#ifndef TAL_IO_DETS_H
#define TAL_IO_DETS_H

#include "anno.h"

/* Adds each row to the detections of the record of that video (created if
 * new).  A class id missing from the table is an error naming the line,
 * unless o->ignore_unknown_classes: then the row is skipped and counted
 * in *ignored (the kit warns and skips).  0 or <0. */
int tal_dets_read_txt(const char *path, tal_annoset *a, const tal_anno_opts *o, long *ignored);

/* ActivityNet results JSON (dets_json.c): {"results": {video: [{"label",
 * "score", "segment": [start, end]}, ...]}, ...}, other top-level keys
 * ("version", "external_data") ignored.  What tal_anno_read_json does for
 * this form, without building a document tree: a results file of half a
 * million detections reads in a fraction of a second.  Labels are names
 * (or numbers: an external id, else an index; "label_id" stands in for a
 * missing "label"); numbers may be given as numeric strings.  Unknown
 * labels are errors unless o->ignore_unknown_classes (then counted in
 * *ignored).  Errors give the line and column for bad JSON, and the path
 * of the value (results.<id>[3].segment) for bad content.  A file without
 * "results" is an error that says what it holds instead. */
int tal_dets_read_json(const char *path, tal_annoset *a, const tal_anno_opts *o, long *ignored);
/* The same on text in memory (len bytes; need not end in NUL); `name`
 * is used in messages. */
int tal_dets_parse_json(const char *text, size_t len, const char *name, tal_annoset *a, const tal_anno_opts *o,
                        long *ignored);

#endif
