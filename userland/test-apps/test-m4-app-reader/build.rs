//! Links this app as a Tessera app (see tessera-app-build).

fn main() {
    tessera_app_build::link();
    // Where the board puts what this fixture aims at.
    tessera_app_build::m_board_constants();
}
