//! `clementine`: see [`clementine::cli`] for the command line.

fn main() -> std::process::ExitCode {
    clementine::cli::main()
}
