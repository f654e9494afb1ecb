// The tools run on jemalloc (the Makefile links this object into each of them, never into the unit tests, whose
// sanitizer builds bring their own allocator). librdkafka allocates each message and its headers on the thread that
// produces and reads them on its broker threads: glibc's allocator scattered them so that writing a message's
// headers into a request missed the cache, a tenth of the archiver's time. jemalloc keeps them packed. One arena:
// the memory freed by the broker threads goes back where the producing (committing) thread allocates from; measured
// on ss-archive only, the other tools' threads mostly wait on servers.
extern "C" {
// Read by jemalloc at start-up (its documented `malloc_conf` symbol).
extern const char* malloc_conf;
const char* malloc_conf = "narenas:1";
}
