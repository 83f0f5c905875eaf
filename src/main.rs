//! The `isoremix` binary: the command line lives in `cli`, the work in the
//! library.

mod allocator;
mod cli;

fn main() -> std::process::ExitCode {
    allocator::share_arenas();
    cli::main()
}
