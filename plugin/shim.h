/* SPDX-License-Identifier: LGPL-2.1 */
/*
 * shim: the transport between crib.so and the engine co-process.
 *
 * One engine per CRIU process: a co-process on a socketpair (shim_start),
 * or a session of an engine service on its unix socket (shim_connect).
 * Each frame is a u32
 * little-endian length and one packed crib.Request / crib.Response
 * (proto/crib.proto).  Calls are synchronous and time out (CRIB_TIMEOUT_MS,
 * default 30 s); an engine that times out, dies or breaks the framing is
 * killed and every later call fails with -EPIPE.
 */
#ifndef __CRIB_SHIM_H__
#define __CRIB_SHIM_H__

#include <stdbool.h>
#include <stdint.h>
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
/*
 * How long to look for an answer before sleeping in poll(): a warm
 * engine answers within tens of microseconds, and waking a sleeping CPU
 * of a VM costs about as much again, on each of the thousands of round
 * trips of seizing a big tree.  CRIB_SPIN_US overrides; 0: none.
 */
#define SHIM_SPIN_US	    100

/* Start argv[0] (an executable path) with its end of the socket on SHIM_FD. */
int shim_start(char *const argv[]);

/*
 * Connect to an engine service (crib serve) listening on @path, within
 * @timeout_ms.  0, or a negative errno: -ENOENT/-ECONNREFUSED when none
 * listens, -EPERM when what listens does not run as root.  Nothing is
 * started; shim_stop() ends the session and leaves the service running.
 */
int shim_connect(const char *path, int timeout_ms);

/* Whether the engine is a service (shim_connect), not our co-process. */
bool shim_is_service(void);

/* The shared answer buffer's fd in our table and its size; -1 when there is none. */
int shim_shared_fd(uint32_t *size);

/*
 * Send @req (its id is set here), wait for the answer with the same id.
 * Returns 0 and a Response to release with shim_free(),
 * or a negative errno: -ENOTSUP from a forked child of the owner, -EPIPE
 * when no engine runs, -ETIMEDOUT, -EPROTO for a frame that does not decode.
 */
int shim_call(Crib__Request *req, Crib__Response **resp);

/* Release an answer of shim_call(). */
void shim_free(Crib__Response *resp);

/*
 * Co-process: ask the engine to exit, then reap it (SIGKILL after a grace
 * period).  Service: end the session and hang up.
 */
void shim_stop(void);

/* The engine's pid (a service's as our pid namespace sees it, 0 if it cannot), 0 when none runs. */
pid_t shim_pid(void);

#endif /* __CRIB_SHIM_H__ */
