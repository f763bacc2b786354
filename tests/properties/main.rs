//! Property tests of the parsers that take outside input: whatever arrives, they answer (never
//! panic), and what they accept keeps the promises the rest of Gatehouse builds on.
//! One module per parser family; generators and the runner's bounds in `support`.

mod support;

mod access_tokens;
mod exact_answers;
mod exact_options;
mod params;
mod redaction;
mod strategy_options;
mod urls_and_names;
