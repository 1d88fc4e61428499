//! The command line, in three parts a newcomer can find: `args` (clap's types), `settings`
//! (flags and environment resolved into the commands' plain settings) and `app` (the runtime,
//! signals, logging, dispatch, and turning an outcome into output and an exit code). The orb's
//! `PARAM_*` front end (`crate::orb`) produces a command line for the same parser. clap stops here.
use std::process::ExitCode;

use clap::Parser;

mod app;
mod args;
mod settings;

use crate::commands::steps::credential_helper;
use crate::env;
use crate::error::{ErrorKind, Result};
use crate::orb;
use crate::output;
use args::{Cli, Command, GlobalArgs, OrbCommand, OutputFormat};

/// Parses the arguments (or an orb step's parameters) and hands the command to the app.
pub fn run() -> ExitCode {
    if std::env::args_os()
        .next()
        .is_some_and(|program| credential_helper::invoked_as(&program))
    {
        return credential_helper_main();
    }
    let cli = match Cli::parse() {
        Cli {
            command: Command::Orb(command),
            global,
        } => match orb_command_line(command, global) {
            Ok(cli) => cli,
            Err(code) => return code,
        },
        cli => cli,
    };
    app::execute(cli)
}

/// Run as `docker-credential-deployer ACTION` by the Docker CLI: AWS settings come from the
/// environment only (DEPLOYER_ROLE_ARN with the OIDC token, or the standard chain).
fn credential_helper_main() -> ExitCode {
    crate::logging::init(0);
    let global = GlobalArgs {
        verbose: 0,
        quiet: true,
        output: OutputFormat::Text,
        region: None,
        profile: None,
        role_arn: env::var(env::DEPLOYER_ROLE_ARN),
        role_session_name: env::var(env::DEPLOYER_ROLE_SESSION_NAME),
        show_values: false,
        record: None,
        static_credentials: None,
    };
    let action = std::env::args().nth(1);
    ExitCode::from(credential_helper::main(
        action.as_deref(),
        settings::aws_settings(&global),
    ))
}

/// `deployer orb run STEP`: the command line the step's parameters make, parsed like any other.
/// `deployer orb params` prints the parameter table and ends here.
fn orb_command_line(command: OrbCommand, global: GlobalArgs) -> Result<Cli, ExitCode> {
    let step = match command {
        OrbCommand::Params => {
            output::json(&orb::params_json());
            return Err(ExitCode::SUCCESS);
        }
        OrbCommand::Run { step } => step,
        OrbCommand::Plan { step } => {
            return match orb::command_line(step, &env::user_named) {
                Ok(args) => {
                    output::json(&serde_json::json!(args));
                    Err(ExitCode::SUCCESS)
                }
                Err(error) => {
                    output::error(&error);
                    Err(error.exit_code())
                }
            };
        }
        OrbCommand::AwsCliConfig => {
            let done = orb::aws_cli_config(&env::user_named)
                .and_then(|settings| crate::commands::aws_cli_config::run(&settings));
            return match done {
                Ok(()) => Err(ExitCode::SUCCESS),
                Err(error) => {
                    output::error(&error);
                    Err(error.exit_code())
                }
            };
        }
        OrbCommand::Binfmt => {
            let host = env::var(env::DOCKER_HOST).unwrap_or_default();
            // The handlers of a remote engine's host cannot be read from here.
            let handlers = (host.is_empty() || host.starts_with("unix://"))
                .then(crate::adapters::binfmt::handlers);
            let machine = crate::domain::platform::docker_architecture(std::env::consts::ARCH);
            return match orb::binfmt_needed(&env::user_named, machine, handlers.as_deref()) {
                Ok(needed) => {
                    if needed.is_empty() {
                        output::step(format!(
                            "no QEMU handlers to install: every platform is {machine} or has one"
                        ));
                    } else {
                        output::data(&needed.join(","));
                    }
                    Err(ExitCode::SUCCESS)
                }
                Err(error) => {
                    output::error(&error);
                    Err(error.exit_code())
                }
            };
        }
    };
    let (args, static_credentials) = orb::command_line(step, &env::user_named)
        .and_then(|args| Ok((args, orb::credentials(step, &env::user_named)?)))
        .map_err(|error| {
            output::error(&error);
            error.exit_code()
        })?;
    output::stderr_line(&format!(
        "orb step {}: {}",
        step.orb_command(),
        orb::display(&args)
    ));
    let names_registry = args.iter().any(|arg| arg == "--registry-id");
    let mut cli = Cli::try_parse_from(std::iter::once("deployer".to_string()).chain(args))
        .map_err(|error| {
            let _ = error.print();
            ExitCode::from(ErrorKind::Usage.exit_code())
        })?;
    // The orb step names its registry from its own parameters: AWS_ECR_REGISTRY_ID, which
    // deployer's --registry-id otherwise falls back to, is read only where a parameter names it
    // (the aws-ecr orb 8.x's registry-id), never because it is left over in the environment.
    if !names_registry {
        let registry = match &mut cli.command {
            Command::Push(push) => Some(&mut push.push.registry),
            Command::Deploy(deploy) => Some(&mut deploy.push.registry),
            Command::EcrLogin(login) => Some(&mut login.registry),
            Command::TagImage(tag) => Some(&mut tag.registry),
            _ => None,
        };
        if let Some(registry) = registry {
            registry.registry_id = None;
        }
    }
    cli.global.verbose = cli.global.verbose.max(global.verbose);
    cli.global.quiet |= global.quiet;
    cli.global.static_credentials = static_credentials;
    if global.output != OutputFormat::Text {
        cli.global.output = global.output;
    }
    Ok(cli)
}
