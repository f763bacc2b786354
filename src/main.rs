//! The `gatehouse` command: thin; everything lives in the library (see `cli`).

fn main() -> std::process::ExitCode {
    gatehouse::cli::main()
}
