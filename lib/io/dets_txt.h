/* dets_txt.h — the THUMOS14 evaluation kit's detection text.
 *
 * One detection per line: "video start end class_id score", separated by
 * blanks (TH14evaldet.m reads it with textread '%s%f%f%d%f').  Class ids
 * are the kit's external ids (7 = BaseballPitch, ...), matched against the
 * ext_ids of the set's class table (a class list such as det.txt gives
 * them).  A trailing ".mp4" or ".mpeg" on the video name is removed, as
 * the kit does.  Rows whose start is after their end are kept as they are
 * (the kit orders each interval's ends; other protocols decide for
 * themselves).  Blank lines are skipped.
 */
#ifndef TAL_IO_DETS_TXT_H
#define TAL_IO_DETS_TXT_H

#include "anno.h"

/* Adds each row to the detections of the record of that video (created if
 * new).  A class id missing from the table is an error naming the line,
 * unless o->ignore_unknown_classes: then the row is skipped and counted
 * in *ignored (the kit warns and skips).  0 or <0. */
int tal_dets_read_txt(const char *path, tal_annoset *a, const tal_anno_opts *o, long *ignored);

#endif
