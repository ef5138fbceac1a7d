//! `canon doc PKG --out DIR` (RUNTIME.md §3.5): static HTML documentation of a
//! package, one self-contained `DIR/index.html`. `model` reads the package,
//! `html` writes the page and `graph` the routing picture in it.

mod graph;
mod html;
mod model;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::render;

#[derive(clap::Args)]
pub(crate) struct DocArgs {
    /// The package directory (or one .canon file).
    #[arg(default_value = ".")]
    package: PathBuf,
    /// The directory to write `index.html` into (created when missing).
    #[arg(long)]
    out: PathBuf,
}

/// The page of a package that checked without errors.
pub(crate) fn page(pkg: &canon_runtime::package::LoadedPackage) -> String {
    html::page(&model::Model::read(pkg))
}

pub(crate) fn doc(args: DocArgs) -> ExitCode {
    let pkg = match canon_runtime::package::load(&args.package) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if pkg.has_errors() {
        render::diagnostics(&pkg, pkg.diagnostics());
        eprintln!("error: the package has errors; no documentation was written");
        return ExitCode::from(1);
    }
    let text = page(&pkg);
    match write(&args.out, &text) {
        Ok(path) => {
            eprintln!("wrote {}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write `{}`: {e}", args.out.display());
            ExitCode::from(2)
        }
    }
}

fn write(dir: &Path, text: &str) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("index.html");
    std::fs::write(&path, text)?;
    Ok(path)
}
