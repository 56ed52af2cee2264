pub mod media;
pub mod security_code;
