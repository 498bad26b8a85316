/*
 * queues: the worker's --queues list, "name[=limit],...": which queues it serves and how many
 * tasks of each it runs at most at once (0: only its concurrency bounds it).
 */
#ifndef TASKQ_QUEUES_H
#define TASKQ_QUEUES_H

/* Parses spec into names (heap copies; the caller frees them) and limits. Returns the
 * count, or -1 for a bad list (nothing left allocated). */
int queues_parse(const char *spec, char **names, int *limits, int max);

#endif
