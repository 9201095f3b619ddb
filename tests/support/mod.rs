pub mod frames;
pub mod pair;
