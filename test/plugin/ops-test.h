/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * ops-test.h: the fake shim of ops-test.c (one canned crib.Response per
 * round trip) and its checks, for the converter tests of each op folder
 * (ops/NAME/NAME_test.c, which defines void test_NAME(void)).
 */
#ifndef __CRIB_OPS_TEST_H__
#define __CRIB_OPS_TEST_H__

#include <stdio.h>
#include <sys/types.h>

#include "crib.h"
#include "crib.pb-c.h"

/* round trips made, and the kind of the last request */
extern int calls;
extern Crib__Request__ReqCase last_req;
extern int failed, passed;

#define CHECK(cond, fmt, ...)                                                           \
	do {                                                                            \
		if (cond) {                                                             \
			passed++;                                                       \
		} else {                                                                \
			failed++;                                                       \
			fprintf(stderr, "FAIL %s:%d: " fmt "\n", __FILE__, __LINE__, ##__VA_ARGS__); \
		}                                                                       \
	} while (0)

/* the next round trip's answer (packed and unpacked, as the real shim does) */
void answer(Crib__Response *r);
/* every byte of p is 0xab (out arguments left alone) */
int untouched(const void *p, size_t size);
/* a bytes field holding s, without its NUL */
ProtobufCBinaryData bin(const char *s);
Crib__StatResp good_stat(pid_t pid);
void stat_answer(Crib__StatResp *s);
/* a PrepareResp; prep_records are its folder-op records */
extern Crib__OpRecord **prep_records;
extern size_t n_prep_records;
void prepare_answer(Crib__VmaList **v, size_t nv, Crib__FdTable **f, size_t nf, int32_t *fp, size_t nfp, int32_t *fe,
		    size_t nfe, Crib__OpTime **t, size_t nt);

#define CRIB_FOLDER_OP_TEST_DECL(n, N, id) void test_##n(void);
CRIB_FOLDER_OPS(CRIB_FOLDER_OP_TEST_DECL)
#undef CRIB_FOLDER_OP_TEST_DECL

#endif /* __CRIB_OPS_TEST_H__ */
