reprice::allocator!();

use clap::Parser;
use reprice::cli::{Cli, Command};
use reprice::error::exit;

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Run(args) => reprice::run::run(&args),
        Command::Validate(args) => reprice::run::validate(&args),
        Command::Catalog { command, catalog } => reprice::run::catalog(&command, &catalog),
        Command::Schema { out } => reprice::schema::write_all(&out).map(|_| exit::OK),
        Command::Gen(args) => reprice::generate::run(&args).map(|_| exit::OK),
    };
    match code {
        Ok(c) => std::process::exit(c),
        Err(e) => {
            eprintln!("reprice: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
