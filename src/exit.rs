//! Process exit codes: a stable contract for CI jobs, documented in the README and asserted in tests.

/// The run is CONFORMANT (or the command succeeded).
pub const CONFORMANT: i32 = 0;
/// The run is NOT_CONFORMANT (or a check command found a problem).
pub const NOT_CONFORMANT: i32 = 1;
/// Usage or input error: bad arguments, a broken YAML file, an unknown id.
pub const INPUT_ERROR: i32 = 2;
/// The target provider could not be reached at the start of the run.
pub const UNREACHABLE: i32 = 3;
