//! What moves on its own: the native deployment strategies' lifecycle (`deployments`), the
//! runner that drives every service's tasks as Docker containers each tick (`runner`), and the
//! load balancer that routes traffic by the deployments' weights (`lb`). The engine works on
//! `state` (and reads `config`); it imports neither `protocol` nor the API modules, which call
//! into it, as `main` does to start the runner and the load balancer.
pub mod deployments;
pub mod lb;
pub mod runner;
