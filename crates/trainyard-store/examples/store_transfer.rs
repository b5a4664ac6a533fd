//! One upload or one download through trainyard's store, for benches/storage.py
//! (the `train` publish path and `model get` use the same `ArtifactStore`).
//! Credentials and endpoints come from the environment (docs/storage.md).
//!
//!   store_transfer put URL FILE          prints the digest
//!   store_transfer get URL DIGEST OUT    downloads and verifies into OUT

use std::path::Path;
use std::process::ExitCode;

use trainyard_store::Env;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = Env::process();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["put", url, file] => trainyard_store::open(url, Path::new("."), &env).and_then(|store| {
            let artifact = store.put("model.bin", Path::new(file))?;
            println!("{}", artifact.digest);
            Ok(())
        }),
        ["get", url, digest, out] => trainyard_store::open(url, Path::new("."), &env)
            .and_then(|store| store.get(digest, Path::new(out))),
        _ => {
            eprintln!("usage: store_transfer put URL FILE | get URL DIGEST OUT");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{error}");
            ExitCode::from(3)
        }
    }
}
