/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * shim: the transport between crib.so and the engine co-process.
 *
 * One engine per CRIU process, on a socketpair.  Each frame is a u32
 * little-endian length and one packed crib.Request / crib.Response
 * (proto/crib.proto).  Calls are synchronous and time out (CRIB_TIMEOUT_MS,
 * default 30 s); an engine that times out, dies or breaks the framing is
 * killed and every later call fails with -EPIPE.
 */
#ifndef __CRIB_SHIM_H__
#define __CRIB_SHIM_H__

#include <sys/types.h>

#include "crib.pb-c.h"

#define SHIM_FD		    3		/* the engine's end, passed as --fd 3 */
#define SHIM_SHM_FD	    4		/* the shared answer buffer, --shm-fd 4 */
#define SHIM_SHM_SIZE	    (16u << 20)
/*
 * Frame header flag from the engine: the body is at offset 4 of the shared
 * answer buffer (a memfd both map), not on the socket; the low 31 bits
 * are its length.  Bulk answers (snapshots) come this way.
 */
#define SHIM_FRAME_IN_SHARED 0x80000000u
#define SHIM_MAX_FRAME	    (256u << 20)
#define SHIM_TIMEOUT_MS	    30000	/* default; CRIB_TIMEOUT_MS overrides */

/* Start argv[0] (an executable path) with its end of the socket on SHIM_FD. */
int shim_start(char *const argv[]);

/*
 * Send @req (its id is set here), wait for the answer with the same id.
 * Returns 0 and a Response to release with shim_free(),
 * or a negative errno: -ENOTSUP from a forked child of the owner, -EPIPE
 * when no engine runs, -ETIMEDOUT, -EPROTO for a frame that does not decode.
 */
int shim_call(Crib__Request *req, Crib__Response **resp);

/* Release an answer of shim_call(). */
void shim_free(Crib__Response *resp);

/* Ask the engine to exit, then reap it (SIGKILL after a grace period). */
void shim_stop(void);

/* The engine's pid, 0 when none runs. */
pid_t shim_pid(void);

#endif /* __CRIB_SHIM_H__ */
