//! `clementine`: see [`clementine::cli`] for the command line.

/// jemalloc rather than glibc's malloc: at 1,000 engines and 10,000 containers the process
/// held 186 MB resident with glibc, 148 MB with jemalloc returning freed pages after a second
/// (glibc's arenas keep what bursts of engine events and big answers free); idle, 44 -> 25 MB;
/// and list-all's answers are written faster (BENCHMARKS.md, "At 1,000 hollow engines").
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's settings, read once at its start: a background thread gives dirty pages back to
/// the system after a second (its default waits ten), without a muzzy stage in between.
#[unsafe(export_name = "_rjem_malloc_conf")]
static MALLOC_CONF: MallocConf =
    MallocConf(c"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

/// jemalloc reads `malloc_conf` as a `const char *`.
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);
// SAFETY: the pointer is to a static string that is never written.
unsafe impl Sync for MallocConf {}

fn main() -> std::process::ExitCode {
    clementine::cli::main()
}
