fn main() -> std::process::ExitCode {
    infragen::cli::main()
}
