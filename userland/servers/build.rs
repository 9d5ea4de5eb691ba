//! Links every program with `linker/user.ld`, as apps are
//! (`tessera_app_build::link`).

fn main() {
    tessera_app_build::link();
}
