//! Shared set-up for the benchmarks in `benches/` (the HTTP load generator joins later).
