/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * crib.h: what crib-plugin.c (registration, engine start) and ops.c (the
 * cr_engine_ops entries and their answer checks) share.
 */
#ifndef __CRIB_H__
#define __CRIB_H__

#include <stdint.h>
#include <sys/types.h>

#include "criu-engine.h"

/* ops.c: the engine has been started; say hello and learn its ops. */
int crib_hello(void);
/* What a service called itself in its hello; "" for a co-process. */
const char *crib_service_name(void);
/* How many ops the engine serves after crib_hello(); when none, *why says why. */
int crib_ops_served(const char **why);
/* ops.c: touched blocks for the arrays handed to CRIU (start-up, after the engine's start) */
void crib_ops_reserve(void);
/* ops.c: forget the snapshot, the cached fd tables, the hello and the blocks. */
void crib_ops_reset(void);

int crib_prepare(const pid_t *pids, int nr, uint64_t op_ns[CR_ENGINE_OP__MAX]);
int crib_stat(pid_t pid, struct cr_eng_stat *st);
int crib_status(pid_t pid, struct cr_eng_status *st);
int crib_threads(pid_t pid, pid_t **tids, int *nr);
int crib_children(pid_t pid, pid_t **pids, int *nr);
int crib_vma(pid_t pid, struct cr_eng_vma **vmas, int *nr);
int crib_fds(pid_t pid, int **fds, int *nr);
int crib_fdinfo(pid_t pid, const int *fds, int nr, struct cr_eng_fdinfo *fi);

#endif /* __CRIB_H__ */
