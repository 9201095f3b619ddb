//! The integration tests, as one test binary: linking the AWS SDK, hyper and ratatui once
//! instead of once per file is most of what a change costs in CI. `support` is what the
//! tests share (one module per job); every other module is one area of the product.
//! Run one area with `cargo test --test it proto_pair::`.

#![allow(clippy::unwrap_used)]

mod support;

mod alerts_apply;
mod alerts_cli;
mod audit_cli;
mod aws_blank_endpoint;
mod aws_ca_bundle;
mod aws_client;
mod aws_profiles;
mod aws_silent_endpoint;
mod cli_startup;
mod client_hardening;
mod connect_pipe;
mod connect_pty;
mod connect_terminate;
mod cp_errors;
mod cp_resume;
mod cp_transfer;
mod emulator_accounts;
mod emulator_agent;
mod emulator_agent_stress;
mod emulator_alerts;
mod emulator_api;
mod emulator_api_cli;
mod emulator_api_concurrency;
mod emulator_api_describe_sessions;
mod emulator_api_sessions;
mod emulator_api_ssm;
mod emulator_awscli;
mod emulator_cloudtrail;
mod emulator_fidelity_process;
mod emulator_fidelity_send;
mod emulator_hardening;
mod emulator_iam;
mod emulator_port;
mod emulator_run;
mod exec_cli;
mod fidelity_client;
mod forward_errors;
mod forward_faults;
mod forward_ssh;
mod forward_tunnel;
mod kms_sessions;
mod list_accounts;
mod list_cli;
mod load;
mod logging_secrets;
mod plugin_awscli;
mod plugin_contract;
mod plugin_install;
mod policy_cli;
mod proto_captures;
mod proto_pair;
mod proto_props;
mod proto_session;
mod protocol_citations;
mod recording_connect;
mod recording_replay;
mod run_cli;
mod setup_cli;
mod transport;
mod tui_accounts;
mod tui_demo;
mod tui_effects;
mod tui_run;
mod tui_tabs;
mod tui_tunnels;
