//! One module per AWS service the emulator answers (ECS, ECR, CodeDeploy, ELBv2, CloudWatch
//! Logs): each decodes its operations' input, records what was asked in the state or asks the
//! engine, and answers in that service's words. They import `protocol`, `engine`, `state`,
//! `config` and `faults`; only `router` (and `main`, which builds the `Context`) imports them.
pub mod codedeploy;
pub mod ecr;
pub mod ecs;
pub mod elb;
pub mod elb_listeners;
pub mod logs;

use std::sync::Arc;

use tokio::sync::Mutex;

use crate::config::Settings;
use crate::faults::{Counter, OperationCounts};
use crate::state::State;

/// What every API handler works with: the settings, the shared state and the fault counters.
pub struct Context {
    pub settings: Settings,
    pub state: Arc<Mutex<State>>,
    pub faults: Counter,
    pub operation_faults: OperationCounts,
}
