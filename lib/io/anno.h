/* anno.h — readers for the annotation formats the field uses.
 *
 * Each adds to a tal_annoset (data/annoset.h): records are created or
 * extended by sequence id; class names are looked up in, or added to, the
 * set's class table.  Errors name the file and the line, or for JSON the
 * path of the offending value (database.<id>.annotations[3].segment).
 *
 * JSON (tal_anno_read_json) — detected by shape:
 *   ActivityNet / ActionFormer   {"database": {id: {subset, duration, fps,
 *                                 annotations: [{segment, label, label_id}]}}}
 *                                (also with "taxonomy"/"version"; segments
 *                                may be numeric strings, as in LACP's gt.json)
 *   BSN anet_anno_action.json    {id: {duration_second, duration_frame,
 *                                 annotations: [{segment, label}]}}
 *   detection results            {"results": {id: [{label, score, segment}]}}
 * THUMOS14 official folders     <Class>_<val|test>.txt, Ambiguous_*.txt
 *                                ("video start end" per line)
 * Point labels                  LACP/HR-Pro CSV (class,[class_index,]
 *                                start_frame,stop_frame,video_id,point) or
 *                                SF-Net single-frame text (video,time,class)
 * Video information             JSON {id: {fps, duration, ...}} or {id: fps},
 *                                or CSV with a header naming id/fps/duration/
 *                                subset columns (BSN, G-TAD, SPOT splits)
 * Class lists                   one class per line, "name" or "id name"
 *                                (the THUMOS kit's det.txt)
 */
#ifndef TAL_IO_ANNO_H
#define TAL_IO_ANNO_H

#include "../data/annoset.h"

typedef struct {
    /* drop labels that are not in a fixed class table instead of failing */
    int ignore_unknown_classes;
    /* frame rate for point files given in frames when a record has none */
    double fps;
    /* only records that exist already (points, video info) */
    int existing_only;
} tal_anno_opts;

int tal_anno_read_json(const char *path, tal_annoset *a, const tal_anno_opts *o);
int tal_anno_read_th14(const char *dir, tal_annoset *a, const tal_anno_opts *o);
int tal_anno_read_points(const char *path, tal_annoset *a, const tal_anno_opts *o);
/* Fills fps, duration and subset where a record lacks them. */
int tal_anno_read_videoinfo(const char *path, tal_annoset *a, const tal_anno_opts *o);
/* A class list: replaces the set's table and fixes it. */
int tal_anno_read_classlist(const char *path, tal_classes *c);

/* Ignored-label counter of the last read (with ignore_unknown_classes). */
long tal_anno_ignored(void);

#endif
