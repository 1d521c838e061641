//! `server`: an etcd-compatible member, started with etcd's flags.

use std::process::ExitCode;

fn main() -> ExitCode {
    let flags = match server::Flags::from_env_and_args(std::env::args_os()) {
        Ok(flags) => flags,
        Err(exit) => return exit.report(),
    };
    server::init_logging(&flags);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(server::run_until_signal(flags)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("server: {err}");
            ExitCode::FAILURE
        }
    }
}
