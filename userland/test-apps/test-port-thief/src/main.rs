//! Test fixture: an app that must never run. Its manifest asks for TCP
//! server port 7, which `echoserver` (earlier in the boot image) owns;
//! `init` must refuse it at admission. Should it run anyway, it says so
//! (`started`, which the `apps` scenario forbids) and tries to listen on
//! the port (`listening on TCP port 7`, also forbidden).
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

use tessera_sdk::net::TcpListener;
use tessera_sdk::{log, App, Error};

tessera_sdk::app!(main);

fn main(app: App) -> Result<(), Error> {
    log!("test-port-thief: started");
    let _listener = TcpListener::bind(&app.net()?, 7)?;
    log!("test-port-thief: listening on TCP port 7");
    Ok(())
}
