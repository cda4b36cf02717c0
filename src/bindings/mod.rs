//! `extern "C"` declarations of the Cloudflare bindings, shaped like worker-sys: every
//! call that can throw is `catch`, promises come back as `Promise`. No decisions here.

pub mod d1;
pub mod queue;
pub mod r2;
