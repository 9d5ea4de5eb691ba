//! Links this app as a Tessera app (see tessera-app-build).

fn main() {
    tessera_app_build::link();
}
