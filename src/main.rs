//! `clicktocall`: reads the configuration and command line, sets up logging and runs the
//! server until SIGINT/SIGTERM.
//!
//! Exit status: 0 clean shutdown, 1 configuration error, 2 could not start (a port could
//! not be bound), 3 a component stopped unexpectedly.

use std::process::ExitCode;

use clicktocall::config::{CliError, Config, ConfigError, LoadOutcome};
use clicktocall::logging::{self, CONSOLE_TARGET};
use clicktocall::server::{self, exit};

fn main() -> ExitCode {
    let mut args = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(arg) => args.push(arg),
            Err(raw) => {
                let arg = raw.to_string_lossy().into_owned();
                return config_error(&ConfigError::Usage(CliError::NotUtf8 { arg }));
            }
        }
    }
    let loaded = match Config::load(&args) {
        Ok(LoadOutcome::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(LoadOutcome::Version(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(LoadOutcome::CheckConfig(loaded)) => {
            for warning in &loaded.warnings {
                eprintln!("clicktocall: warning: {warning}");
            }
            if let Err(e) =
                logging::check(&loaded.config).and_then(|()| logging::check_cdr(&loaded.config))
            {
                eprintln!("clicktocall: {e}");
                eprintln!("clicktocall: configuration error, not started");
                return ExitCode::from(exit::CONFIG);
            }
            println!(
                "# clicktocall {}: effective settings; configuration file: {}",
                env!("CARGO_PKG_VERSION"),
                loaded.config.source_description()
            );
            for (key, value) in loaded.config.settings() {
                println!("{key} = {value}");
            }
            return ExitCode::SUCCESS;
        }
        Ok(LoadOutcome::Run(loaded)) => loaded,
        Err(e) => return config_error(&e),
    };
    if let Err(e) = logging::init(&loaded.config) {
        eprintln!("clicktocall: {e}");
        return ExitCode::from(exit::CONFIG);
    }
    for warning in loaded
        .warnings
        .iter()
        .chain(&loaded.config.start_warnings())
    {
        log::warn!(target: CONSOLE_TARGET, "{warning}");
    }
    if loaded.config.source.is_none() {
        log::warn!(
            target: CONSOLE_TARGET,
            "no configuration file: {}",
            loaded.config.source_description()
        );
    }
    // SIGHUP reads the same file with the same command line again.
    server::run_with_reload(loaded.config, Box::new(move || Config::load(&args)))
}

fn config_error(e: &ConfigError) -> ExitCode {
    if let ConfigError::Invalid { warnings, .. } = e {
        for warning in warnings {
            eprintln!("clicktocall: warning: {warning}");
        }
    }
    for line in e.to_string().lines() {
        eprintln!("clicktocall: {line}");
    }
    eprintln!("clicktocall: configuration error, not started");
    ExitCode::from(exit::CONFIG)
}
