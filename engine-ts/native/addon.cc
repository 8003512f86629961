// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * addon.cc: the node-addon-api layer over crib_core.  Arguments are
 * checked first; failures throw an Error with `errno` (positive) and, for
 * libbpf calls, `log` (what libbpf printed, the verifier log included).
 * The TypeScript side (engine-ts/src/bpf/native.ts) types this surface.
 */
#include <napi.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "crib_core.h"

namespace {

Napi::Error MakeError(Napi::Env env, const std::string &what, int err, char *log)
{
	std::string msg = what + ": " + std::strerror(err < 0 ? -err : err);
	Napi::Error e = Napi::Error::New(env, msg);
	e.Set("errno", Napi::Number::New(env, err < 0 ? -err : err));
	e.Set("log", Napi::String::New(env, log ? log : ""));
	std::free(log);
	return e;
}

std::string StringArg(const Napi::CallbackInfo &info, size_t i, const char *name)
{
	if (info.Length() <= i || !info[i].IsString())
		throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
	return info[i].As<Napi::String>().Utf8Value();
}

uint32_t Uint32Arg(const Napi::CallbackInfo &info, size_t i, const char *name)
{
	if (info.Length() <= i || !info[i].IsNumber())
		throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a number");
	double d = info[i].As<Napi::Number>().DoubleValue();
	if (d < 0 || d > 4294967295.0 || d != static_cast<double>(static_cast<uint32_t>(d)))
		throw Napi::RangeError::New(info.Env(), std::string(name) + " must be an integer in [0, 2^32)");
	return static_cast<uint32_t>(d);
}

Napi::Uint8Array BytesArg(const Napi::CallbackInfo &info, size_t i, const char *name)
{
	if (info.Length() <= i || !info[i].IsTypedArray() ||
	    info[i].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
		throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a Uint8Array");
	return info[i].As<Napi::Uint8Array>();
}

class BpfObject : public Napi::ObjectWrap<BpfObject> {
public:
	static Napi::Function Init(Napi::Env env)
	{
		return DefineClass(env, "BpfObject", {
			InstanceMethod<&BpfObject::ProgNames>("progNames"),
			InstanceMethod<&BpfObject::SetAutoload>("setAutoload"),
			InstanceMethod<&BpfObject::Load>("load"),
			InstanceMethod<&BpfObject::ProgFd>("progFd"),
			InstanceMethod<&BpfObject::Run>("run"),
			InstanceMethod<&BpfObject::MapInfo>("mapInfo"),
			InstanceMethod<&BpfObject::MapBuffer>("mapBuffer"),
			InstanceMethod<&BpfObject::ReadMap>("readMap"),
			InstanceMethod<&BpfObject::WriteMap>("writeMap"),
			InstanceMethod<&BpfObject::IterRead>("iterRead"),
			InstanceMethod<&BpfObject::RingbufRead>("ringbufRead"),
			InstanceMethod<&BpfObject::Close>("close"),
		});
	}

	BpfObject(const Napi::CallbackInfo &info) : Napi::ObjectWrap<BpfObject>(info)
	{
		std::string path = StringArg(info, 0, "path");
		char *log = nullptr;
		int err = crib_obj_open(path.c_str(), &obj_, &log);

		if (err)
			throw MakeError(info.Env(), "open " + path, err, log);
		std::free(log);
	}

	~BpfObject() override { crib_obj_close(obj_); }

	/* the object, for loadAll(); NULL once closed */
	struct crib_obj *Raw() { return obj_; }

private:
	struct crib_obj *obj_ = nullptr;
	std::vector<Napi::Reference<Napi::ArrayBuffer>> views_;

	struct crib_obj *Obj(Napi::Env env)
	{
		if (!obj_)
			throw Napi::Error::New(env, "BpfObject is closed");
		return obj_;
	}

	Napi::Value ProgNames(const Napi::CallbackInfo &info)
	{
		struct crib_obj *o = Obj(info.Env());
		Napi::Array a = Napi::Array::New(info.Env());
		const char *name;

		for (unsigned int i = 0; (name = crib_obj_prog_name(o, i)); i++)
			a.Set(i, Napi::String::New(info.Env(), name));
		return a;
	}

	Napi::Value SetAutoload(const Napi::CallbackInfo &info)
	{
		std::string prog = StringArg(info, 0, "prog");
		if (info.Length() < 2 || !info[1].IsBoolean())
			throw Napi::TypeError::New(info.Env(), "on must be a boolean");
		int err = crib_obj_set_autoload(Obj(info.Env()), prog.c_str(), info[1].As<Napi::Boolean>());
		if (err)
			throw MakeError(info.Env(), "set autoload of " + prog, err, nullptr);
		return info.Env().Undefined();
	}

	Napi::Value Load(const Napi::CallbackInfo &info)
	{
		char *log = nullptr;
		int err = crib_obj_load(Obj(info.Env()), &log);

		if (err)
			throw MakeError(info.Env(), "load", err, log);
		std::free(log);
		return info.Env().Undefined();
	}

	Napi::Value ProgFd(const Napi::CallbackInfo &info)
	{
		std::string prog = StringArg(info, 0, "prog");
		int fd = crib_obj_prog_fd(Obj(info.Env()), prog.c_str());

		if (fd < 0)
			throw MakeError(info.Env(), "program " + prog, fd, nullptr);
		return Napi::Number::New(info.Env(), fd);
	}

	/* run(progFd, ctx): the program's return value as an int32; ctx is written back */
	Napi::Value Run(const Napi::CallbackInfo &info)
	{
		uint32_t fd = Uint32Arg(info, 0, "progFd");
		Napi::Uint8Array ctx = BytesArg(info, 1, "ctx");
		uint32_t retval = 0;
		int err;

		Obj(info.Env());
		err = crib_prog_run(static_cast<int>(fd), ctx.Data(), ctx.ByteLength(), &retval);
		if (err)
			throw MakeError(info.Env(), "run program", err, nullptr);
		return Napi::Number::New(info.Env(), static_cast<int32_t>(retval));
	}

	Napi::Value MapInfo(const Napi::CallbackInfo &info)
	{
		std::string map = StringArg(info, 0, "map");
		struct crib_map_info mi;
		int err = crib_obj_map_info(Obj(info.Env()), map.c_str(), &mi);

		if (err)
			throw MakeError(info.Env(), "map " + map, err, nullptr);
		Napi::Object o = Napi::Object::New(info.Env());
		o.Set("type", mi.type);
		o.Set("keySize", mi.key_size);
		o.Set("valueSize", mi.value_size);
		o.Set("maxEntries", mi.max_entries);
		o.Set("flags", mi.map_flags);
		o.Set("fd", mi.fd);
		return o;
	}

	/* mapBuffer(map): the map's memory, read-only, valid until close() (then detached) */
	Napi::Value MapBuffer(const Napi::CallbackInfo &info)
	{
		std::string map = StringArg(info, 0, "map");
		void *addr = nullptr;
		size_t size = 0;
		int err = crib_obj_map_mmap(Obj(info.Env()), map.c_str(), &addr, &size);

		if (err)
			throw MakeError(info.Env(), "mmap map " + map, err, nullptr);
		Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(info.Env(), addr, size);
		views_.push_back(Napi::Persistent(ab));
		return ab;
	}

	/* readMap(map, first, n, dst): copies n entries with batch lookups; returns entries copied */
	Napi::Value ReadMap(const Napi::CallbackInfo &info)
	{
		std::string map = StringArg(info, 0, "map");
		uint32_t first = Uint32Arg(info, 1, "first");
		uint32_t n = Uint32Arg(info, 2, "n");
		Napi::Uint8Array dst = BytesArg(info, 3, "dst");
		struct crib_map_info mi;
		int err = crib_obj_map_info(Obj(info.Env()), map.c_str(), &mi);

		if (err)
			throw MakeError(info.Env(), "map " + map, err, nullptr);
		if (static_cast<uint64_t>(n) * mi.value_size > dst.ByteLength())
			throw Napi::RangeError::New(info.Env(), "dst is too small for n entries");
		err = crib_map_read(mi.fd, mi.value_size, first, n, dst.Data());
		if (err < 0)
			throw MakeError(info.Env(), "read map " + map, err, nullptr);
		return Napi::Number::New(info.Env(), err);
	}

	/* writeMap(map, index, src): src (exactly one value) into entry index of an array map */
	Napi::Value WriteMap(const Napi::CallbackInfo &info)
	{
		std::string map = StringArg(info, 0, "map");
		uint32_t index = Uint32Arg(info, 1, "index");
		Napi::Uint8Array src = BytesArg(info, 2, "src");
		struct crib_map_info mi;
		int err = crib_obj_map_info(Obj(info.Env()), map.c_str(), &mi);

		if (err)
			throw MakeError(info.Env(), "map " + map, err, nullptr);
		if (src.ByteLength() != mi.value_size)
			throw Napi::RangeError::New(info.Env(), "src must be exactly one value of map " + map);
		err = crib_map_write(mi.fd, index, src.Data());
		if (err)
			throw MakeError(info.Env(), "write map " + map, err, nullptr);
		return info.Env().Undefined();
	}

	/*
	 * iterRead(prog, pid, tid): attaches an iterator program to one task
	 * (tid != 0), one process (pid != 0) or every task (both 0), reads its
	 * crib_rec stream up to the END record (or EOF) and returns the bytes
	 * as an ArrayBuffer that owns them
	 */
	Napi::Value IterRead(const Napi::CallbackInfo &info)
	{
		std::string prog = StringArg(info, 0, "prog");
		uint32_t pid = Uint32Arg(info, 1, "pid");
		uint32_t tid = Uint32Arg(info, 2, "tid");
		void *buf = nullptr;
		size_t len = 0;
		char *log = nullptr;
		int err;

		err = crib_obj_iter_read(Obj(info.Env()), prog.c_str(), pid, tid, CRIB_ITER_F_UNTIL_END,
					 &buf, &len, &log);
		if (err)
			throw MakeError(info.Env(), "iterator " + prog, err, log);
		std::free(log);
		if (!len) {
			std::free(buf);
			return Napi::ArrayBuffer::New(info.Env(), 0);
		}
		return Napi::ArrayBuffer::New(info.Env(), buf, len,
					      [](Napi::Env, void *data) { std::free(data); });
	}

	/*
	 * ringbufRead(map): the records committed to ring buffer @map so far,
	 * each a u32 length (then 4 bytes of padding) and its bytes padded to
	 * 8, as an ArrayBuffer that owns them
	 */
	Napi::Value RingbufRead(const Napi::CallbackInfo &info)
	{
		std::string map = StringArg(info, 0, "map");
		void *buf = nullptr;
		size_t len = 0;
		int err;

		err = crib_obj_ringbuf_read(Obj(info.Env()), map.c_str(), &buf, &len);
		if (err)
			throw MakeError(info.Env(), "ring buffer " + map, err, nullptr);
		if (!len)
			return Napi::ArrayBuffer::New(info.Env(), 0);
		return Napi::ArrayBuffer::New(info.Env(), buf, len,
					      [](Napi::Env, void *data) { std::free(data); });
	}

	Napi::Value Close(const Napi::CallbackInfo &info)
	{
		/* views into the maps die with them: detach first, JS then sees empty buffers */
		for (auto &ref : views_) {
			Napi::ArrayBuffer ab = ref.Value();
			if (!ab.IsEmpty() && !ab.IsDetached())
				ab.Detach();
		}
		views_.clear();
		crib_obj_close(obj_);
		obj_ = nullptr;
		return info.Env().Undefined();
	}
};

Napi::Value LibbpfVersion(const Napi::CallbackInfo &info)
{
	return Napi::String::New(info.Env(), crib_libbpf_version());
}

/* mapShared(fd, size[, populate = true]): the plugin's shared answer buffer, read-write */
Napi::Value MapShared(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
		throw Napi::TypeError::New(env, "mapShared(fd, size): two numbers expected");
	int64_t fd = info[0].As<Napi::Number>().Int64Value();
	int64_t size = info[1].As<Napi::Number>().Int64Value();
	if (fd < 0 || fd > INT32_MAX || size <= 0 || size > (int64_t)1 << 32)
		throw Napi::RangeError::New(env, "mapShared(fd, size): fd or size out of range");
	void *addr = nullptr;
	bool populate = info.Length() < 3 || info[2].ToBoolean();
	int err = crib_shm_map((int)fd, (size_t)size, populate, &addr);
	if (err)
		throw MakeError(env, "map the shared answer buffer", err, nullptr);
	return Napi::ArrayBuffer::New(env, addr, (size_t)size);
}

/* unmapShared(buf): unmaps a mapShared() buffer and detaches it */
Napi::Value UnmapShared(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	if (info.Length() < 1 || !info[0].IsArrayBuffer())
		throw Napi::TypeError::New(env, "unmapShared(buf): an ArrayBuffer from mapShared() expected");
	Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
	if (ab.IsDetached())
		return env.Undefined();
	int err = crib_shm_unmap(ab.Data(), ab.ByteLength());
	if (err)
		throw MakeError(env, "unmap the shared answer buffer", err, nullptr);
	ab.Detach();
	return env.Undefined();
}

/* peer(fd): who is on the other end of a connected unix socket (crib_sock_peer()) */
Napi::Value Peer(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	struct crib_peer p;

	if (info.Length() < 1 || !info[0].IsNumber())
		throw Napi::TypeError::New(env, "peer(fd): a socket fd expected");
	int err = crib_sock_peer(info[0].As<Napi::Number>().Int32Value(), &p);
	if (err)
		throw MakeError(env, "the socket's peer", err, nullptr);
	Napi::Object o = Napi::Object::New(env);
	o.Set("pid", p.pid);
	o.Set("uid", p.uid);
	o.Set("gid", p.gid);
	o.Set("pidfd", p.pidfd);
	o.Set("pidNs", Napi::Number::New(env, (double)p.pid_ns));
	o.Set("exact", Napi::Boolean::New(env, p.exact));
	return o;
}

/* pidfdGetfd(pidfd, fd): a copy of another process's fd */
Napi::Value PidfdGetfd(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber())
		throw Napi::TypeError::New(env, "pidfdGetfd(pidfd, fd): two numbers expected");
	int fd = crib_pidfd_getfd(info[0].As<Napi::Number>().Int32Value(), info[1].As<Napi::Number>().Int32Value());
	if (fd < 0)
		throw MakeError(env, "pidfd_getfd", fd, nullptr);
	return Napi::Number::New(env, fd);
}

/* internalMounts(): { anonInode, pidfs }, mount ids or -errno (crib_internal_mounts()) */
Napi::Value InternalMounts(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	Napi::Object o = Napi::Object::New(env);
	int anon, pidfs;

	crib_internal_mounts(&anon, &pidfs);
	o.Set("anonInode", Napi::Number::New(env, anon));
	o.Set("pidfs", Napi::Number::New(env, pidfs));
	return o;
}

/*
 * loadAll(objs): load() of each BpfObject, side by side on one thread per
 * CPU (crib_obj_load_all()); an array of 0 or -errno per object, without
 * the verifier's log (load a failed one again alone for it).
 */
Napi::Value LoadAll(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	if (info.Length() < 1 || !info[0].IsArray())
		throw Napi::TypeError::New(env, "loadAll(objs: BpfObject[]) expected");
	Napi::Array a = info[0].As<Napi::Array>();
	uint32_t n = a.Length();
	std::vector<struct crib_obj *> objs(n);
	std::vector<int> err(n, 0);
	for (uint32_t i = 0; i < n; i++) {
		Napi::Value v = a.Get(i);
		if (!v.IsObject())
			throw Napi::TypeError::New(env, "loadAll: BpfObjects expected");
		objs[i] = BpfObject::Unwrap(v.As<Napi::Object>())->Raw();
		if (!objs[i])
			throw Napi::Error::New(env, "loadAll: a BpfObject is closed");
	}
	crib_obj_load_all(objs.data(), err.data(), n);
	Napi::Array out = Napi::Array::New(env, n);
	for (uint32_t i = 0; i < n; i++)
		out.Set(i, Napi::Number::New(env, err[i]));
	return out;
}

/* objId(fd): the kernel's id of the BPF program or map @fd, or -errno */
Napi::Value ObjId(const Napi::CallbackInfo &info)
{
	if (info.Length() < 1 || !info[0].IsNumber())
		throw Napi::TypeError::New(info.Env(), "objId(fd: number) expected");
	return Napi::Number::New(info.Env(), (double)crib_obj_id(info[0].As<Napi::Number>().Int32Value()));
}

/*
 * statmount(mntId, nsId, mask): the struct statmount and strings of one
 * mount (crib_statmount()), in an ArrayBuffer; a number, -errno, if the
 * call fails.  mntId and nsId are BigInts (unique ids), mask a number.
 */
Napi::Value Statmount(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	static std::vector<uint8_t> buf(4096); /* the kernel allocates as much per call: grown on -EOVERFLOW */
	bool lossless;

	if (info.Length() < 3 || !info[0].IsBigInt() || !info[1].IsBigInt() || !info[2].IsNumber())
		throw Napi::TypeError::New(env, "statmount(mntId: bigint, nsId: bigint, mask: number) expected");
	uint64_t mnt = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
	uint64_t ns = info[1].As<Napi::BigInt>().Uint64Value(&lossless);
	uint64_t mask = (uint64_t)info[2].As<Napi::Number>().Int64Value();
	for (;;) {
		int err = crib_statmount(mnt, ns, mask, buf.data(), buf.size());

		if (err == -EOVERFLOW && buf.size() < (16u << 20)) {
			buf.resize(buf.size() * 4);
			continue;
		}
		if (err)
			return Napi::Number::New(env, err);
		uint32_t size;
		memcpy(&size, buf.data(), sizeof(size));
		if (size > buf.size())
			size = buf.size();
		Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(env, size);
		memcpy(ab.Data(), buf.data(), size);
		return ab;
	}
}

/*
 * runAll(progFds, ctxs): run the programs at once, one thread each (see
 * crib_prog_run_all()); each ctx is written back.  A Float64Array of
 * [retval (int32), err (0 or -errno), ns] per run.
 */
Napi::Value RunAll(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();
	struct crib_run runs[CRIB_RUN_MAX] = {};

	if (info.Length() < 2 || !info[0].IsArray() || !info[1].IsArray())
		throw Napi::TypeError::New(env, "runAll(progFds, ctxs): two arrays expected");
	Napi::Array fds = info[0].As<Napi::Array>(), ctxs = info[1].As<Napi::Array>();
	uint32_t n = fds.Length();
	if (n != ctxs.Length() || n == 0 || n > CRIB_RUN_MAX)
		throw Napi::RangeError::New(env, "runAll(progFds, ctxs): 1 to " + std::to_string(CRIB_RUN_MAX) +
							 " programs, one ctx each");
	for (uint32_t i = 0; i < n; i++) {
		Napi::Value fd = fds[i], ctx = ctxs[i];

		if (!fd.IsNumber() || !ctx.IsTypedArray() ||
		    ctx.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
			throw Napi::TypeError::New(env, "runAll(progFds, ctxs): numbers and Uint8Arrays expected");
		Napi::Uint8Array c = ctx.As<Napi::Uint8Array>();
		runs[i].prog_fd = fd.As<Napi::Number>().Int32Value();
		runs[i].ctx = c.Data();
		runs[i].ctx_size = c.ByteLength();
	}
	int err = crib_prog_run_all(runs, n);
	if (err)
		throw MakeError(env, "run programs", err, nullptr);
	Napi::Float64Array out = Napi::Float64Array::New(env, 3 * n);
	for (uint32_t i = 0; i < n; i++) {
		out[3 * i] = static_cast<int32_t>(runs[i].retval);
		out[3 * i + 1] = runs[i].err;
		out[3 * i + 2] = static_cast<double>(runs[i].ns);
	}
	return out;
}

/* firstUnordered(Int32Array): see crib_first_unordered() */
Napi::Value FirstUnordered(const Napi::CallbackInfo &info)
{
	Napi::Env env = info.Env();

	if (info.Length() < 1 || !info[0].IsTypedArray() ||
	    info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
		throw Napi::TypeError::New(env, "firstUnordered(a): an Int32Array expected");
	Napi::Int32Array a = info[0].As<Napi::Int32Array>();
	return Napi::Number::New(env, (double)crib_first_unordered(a.Data(), a.ElementLength()));
}

Napi::Object InitAll(Napi::Env env, Napi::Object exports)
{
	exports.Set("BpfObject", BpfObject::Init(env));
	exports.Set("mapShared", Napi::Function::New(env, MapShared));
	exports.Set("unmapShared", Napi::Function::New(env, UnmapShared));
	exports.Set("peer", Napi::Function::New(env, Peer));
	exports.Set("pidfdGetfd", Napi::Function::New(env, PidfdGetfd));
	exports.Set("libbpfVersion", Napi::Function::New(env, LibbpfVersion));
	exports.Set("firstUnordered", Napi::Function::New(env, FirstUnordered));
	exports.Set("runAll", Napi::Function::New(env, RunAll));
	exports.Set("internalMounts", Napi::Function::New(env, InternalMounts));
	exports.Set("statmount", Napi::Function::New(env, Statmount));
	exports.Set("objId", Napi::Function::New(env, ObjId));
	exports.Set("loadAll", Napi::Function::New(env, LoadAll));
	return exports;
}

} // namespace

NODE_API_MODULE(crib_native, InitAll)
