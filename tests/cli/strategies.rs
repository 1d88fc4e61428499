//! ECS's native deployment strategies on the emulator: blue/green, linear and canary with real
//! containers, followed through DescribeServiceDeployments, with the pages the load balancer's
//! production and test listeners serve counted as traffic shifts. Each test runs an emulator of
//! its own (its own load balancer ports; a minute lasting 500 ms) so weights are its own.
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    AdvancedConfiguration, CanaryConfiguration, DeploymentAlarms, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentController, DeploymentControllerType,
    DeploymentLifecycleHook, DeploymentLifecycleHookAction, DeploymentLifecycleHookStage,
    DeploymentLifecycleHookTargetType, DeploymentLifecycleHookTimeoutConfiguration,
    DeploymentStrategy, LaunchType, LinearConfiguration, LoadBalancer, ServiceDeployment,
    StopServiceDeploymentStopType,
};

use crate::emulator::{faulty_emulator, free_port, push_site, FaultyEmulator};
use crate::support::{stack, unique_repo, write, Api};

const GROUP: &str = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/site-blue/1";

/// An emulator with both listeners, v1 and v2 of the site pushed to it, and a service of one
/// task running v1 behind its load balancer, steady.
pub(crate) struct Site {
    pub(crate) emulator: FaultyEmulator,
    pub(crate) production: String,
    pub(crate) test: String,
    pub(crate) api: Api,
    pub(crate) cluster: String,
    pub(crate) service: String,
    pub(crate) v2: String,
}

pub(crate) fn load_balancer(advanced: bool) -> LoadBalancer {
    let configuration = AdvancedConfiguration::builder()
        .alternate_target_group_arn(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/site-green/2",
        )
        .production_listener_rule(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/2/3",
        )
        .test_listener_rule(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener-rule/app/site/1/4/5",
        )
        .role_arn("arn:aws:iam::123456789012:role/ecsInfrastructureRoleForLoadBalancers")
        .build();
    LoadBalancer::builder()
        .target_group_arn(GROUP)
        .container_name("tutorial-site-app")
        .container_port(3000)
        .set_advanced_configuration(advanced.then_some(configuration))
        .build()
}

impl Site {
    /// The task-definition family of the site's revisions (v2's, `tutorial-site-task-N`).
    pub(crate) fn family(&self) -> String {
        let short = self.v2.rsplit_once(":task-definition/").unwrap().1;
        short.rsplit_once(':').unwrap().0.to_string()
    }

    pub(crate) fn start(configuration: DeploymentConfiguration, flags: &[&str]) -> Site {
        Site::start_with(configuration, flags, None)
    }

    /// As `start`, the service with the CODE_DEPLOY deployment controller (its load balancer
    /// without ECS's advanced configuration: CodeDeploy's deployment group has the target groups).
    pub(crate) fn start_codedeploy(flags: &[&str], v2_context: Option<&std::path::Path>) -> Site {
        Site::start_for(None, flags, v2_context)
    }

    /// As `start`, v2 built from `v2_context` when given.
    fn start_with(
        configuration: DeploymentConfiguration,
        flags: &[&str],
        v2_context: Option<&std::path::Path>,
    ) -> Site {
        Site::start_for(Some(configuration), flags, v2_context)
    }

    /// With a deployment configuration, an ECS-controlled service; without, a CODE_DEPLOY one.
    fn start_for(
        configuration: Option<DeploymentConfiguration>,
        flags: &[&str],
        v2_context: Option<&std::path::Path>,
    ) -> Site {
        let (production, test) = (
            format!("127.0.0.1:{}", free_port()),
            format!("127.0.0.1:{}", free_port()),
        );
        let mut arguments: Vec<String> = [
            "--load-balancer",
            &production,
            "--test-load-balancer",
            &test,
            "--minute-ms",
            "500",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        arguments.extend(flags.iter().map(|s| s.to_string()));
        let emulator = faulty_emulator(&arguments);
        let repo = unique_repo("tutorial-site-registry");
        let v1 = push_site(&emulator.endpoint, &repo, "v1", "1", None);
        let v2 = push_site(&emulator.endpoint, &repo, "v2", "2", v2_context);
        let api = Api::at(&emulator.endpoint);
        let (cluster, service, family) = (
            unique_repo("strategies-cluster"),
            unique_repo("strategies-service"),
            unique_repo("strategies-task"),
        );
        let first = api.register_seed_with_image(&family, &v1);
        let v2 = api.register_seed_with_image(&family, &v2);
        api.block_on(api.ecs.create_cluster().cluster_name(&cluster).send())
            .unwrap();
        let codedeploy = configuration.is_none();
        api.block_on(
            api.ecs
                .create_service()
                .cluster(&cluster)
                .service_name(&service)
                .task_definition(&first)
                .desired_count(1)
                .launch_type(LaunchType::Fargate)
                .load_balancers(load_balancer(!codedeploy))
                .set_deployment_configuration(configuration)
                .set_deployment_controller(codedeploy.then(|| {
                    DeploymentController::builder()
                        .r#type(DeploymentControllerType::CodeDeploy)
                        .build()
                        .unwrap()
                }))
                .send(),
        )
        .unwrap();
        let site = Site {
            emulator,
            production,
            test,
            api,
            cluster,
            service,
            v2,
        };
        site.wait(Duration::from_secs(60), "v1 serving", |_| {
            site.pages(&site.production, 2) == ["version 1", "version 1"]
        });
        site
    }

    /// Starts the deployment of v2 and returns its ServiceDeployment ARN.
    pub(crate) fn deploy_v2(&self) -> String {
        let answer = self
            .api
            .block_on(
                self.api
                    .ecs
                    .update_service()
                    .cluster(&self.cluster)
                    .service(&self.service)
                    .task_definition(&self.v2)
                    .send(),
            )
            .unwrap();
        answer
            .service()
            .unwrap()
            .current_service_deployment()
            .expect("UpdateService answers the current service deployment")
            .to_string()
    }

    pub(crate) fn deployment(&self, arn: &str) -> ServiceDeployment {
        let answer = self
            .api
            .block_on(
                self.api
                    .ecs
                    .describe_service_deployments()
                    .service_deployment_arns(arn)
                    .send(),
            )
            .unwrap();
        answer.service_deployments()[0].clone()
    }

    /// Polls until `done` holds for the deployment (or the service), failing after `limit`.
    pub(crate) fn wait(&self, limit: Duration, what: &str, done: impl Fn(&Site) -> bool) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits until the deployment's status is `status`, recording each lifecycle stage seen.
    pub(crate) fn follow(
        &self,
        arn: &str,
        status: &str,
        limit: Duration,
    ) -> (ServiceDeployment, Vec<String>) {
        let deadline = Instant::now() + limit;
        let mut stages: Vec<String> = Vec::new();
        loop {
            let deployment = self.deployment(arn);
            if let Some(stage) = deployment.lifecycle_stage() {
                if stages.last().map(String::as_str) != Some(stage.as_str()) {
                    stages.push(stage.as_str().to_string());
                }
            }
            if deployment.status().map(|s| s.as_str()) == Some(status) {
                return (deployment, stages);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {status}: {deployment:#?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The paragraph of `count` pages fetched one after the other from a listener.
    pub(crate) fn pages(&self, listener: &str, count: usize) -> Vec<String> {
        (0..count).map(|_| page(listener)).collect()
    }

    pub(crate) fn task_definition(&self) -> String {
        let answer = self
            .api
            .block_on(
                self.api
                    .ecs
                    .describe_services()
                    .cluster(&self.cluster)
                    .services(&self.service)
                    .send(),
            )
            .unwrap();
        answer.services()[0].task_definition().unwrap().to_string()
    }
}

/// One GET through a listener: the page's `<p>` line, or what went wrong.
pub(crate) fn page(listener: &str) -> String {
    let Ok(mut stream) = std::net::TcpStream::connect(listener) else {
        return "no connection".into();
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let request = format!("GET / HTTP/1.0\r\nHost: {listener}\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return "not sent".into();
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("<p>")
                .and_then(|l| l.strip_suffix("</p>"))
        })
        .unwrap_or("no page")
        .to_string()
}

pub(crate) fn count(pages: &[String], wanted: &str) -> usize {
    pages.iter().filter(|page| *page == wanted).count()
}

pub(crate) fn pause_hook(stage: DeploymentLifecycleHookStage) -> DeploymentLifecycleHook {
    DeploymentLifecycleHook::builder()
        .target_type(DeploymentLifecycleHookTargetType::Pause)
        .lifecycle_stages(stage)
        .timeout_configuration(
            DeploymentLifecycleHookTimeoutConfiguration::builder()
                .timeout_in_minutes(60)
                .action(DeploymentLifecycleHookAction::Rollback)
                .build(),
        )
        .build()
}

pub(crate) fn production_weight(deployment: &ServiceDeployment) -> Option<f64> {
    deployment
        .target_service_revision()?
        .requested_production_traffic_weight()
}

#[test]
fn a_canary_sends_its_share_of_requests_to_the_new_version_then_all() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Canary)
            .canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(10.0)
                    .canary_bake_time_in_minutes(30)
                    .build(),
            )
            .bake_time_in_minutes(2)
            .build(),
        &[],
    );
    let arn = site.deploy_v2();
    site.wait(Duration::from_secs(60), "the canary phase", |site| {
        production_weight(&site.deployment(&arn)) == Some(10.0)
    });
    let during = site.deployment(&arn);
    assert_eq!(
        during.lifecycle_stage().map(|s| s.as_str()),
        Some("PRODUCTION_TRAFFIC_SHIFT")
    );
    assert_eq!(
        during.source_service_revisions()[0].requested_production_traffic_weight(),
        Some(90.0)
    );
    let pages = site.pages(&site.production, 100);
    assert_eq!(
        production_weight(&site.deployment(&arn)),
        Some(10.0),
        "still the canary phase after the sampling"
    );
    assert_eq!(
        (count(&pages, "version 2"), count(&pages, "version 1")),
        (10, 90),
        "{pages:?}"
    );
    // The test listener already sends everything to the new version.
    assert_eq!(site.pages(&site.test, 5), vec!["version 2"; 5]);

    let (finished, stages) = site.follow(&arn, "SUCCESSFUL", Duration::from_secs(60));
    assert_eq!(
        stages.last().map(String::as_str),
        Some("CLEAN_UP"),
        "{stages:?}"
    );
    assert!(
        stages.iter().any(|s| s == "BAKE_TIME"),
        "bakes before the clean-up: {stages:?}"
    );
    assert!(finished.finished_at().is_some());
    assert_eq!(production_weight(&finished), Some(100.0));
    assert_eq!(site.pages(&site.production, 10), vec!["version 2"; 10]);
    assert_eq!(site.task_definition(), site.v2);
}

#[test]
fn a_canary_failing_its_health_check_is_rolled_back_by_the_circuit_breaker() {
    let stack = stack();
    let unhealthy = tempfile::tempdir().unwrap();
    write(
        unhealthy.path(),
        "Dockerfile",
        &format!(
            "FROM {}\nARG VERSION\nHEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD false\nCMD [\"sleep\", \"600\"]\n",
            stack.base_image
        ),
    );
    let site = Site::start_with(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Canary)
            .canary_configuration(
                CanaryConfiguration::builder()
                    .canary_percent(10.0)
                    .canary_bake_time_in_minutes(10)
                    .build(),
            )
            .deployment_circuit_breaker(
                DeploymentCircuitBreaker::builder()
                    .enable(true)
                    .rollback(true)
                    .build(),
            )
            .build(),
        &["--breaker-threshold", "2"],
        Some(unhealthy.path()),
    );
    let before = site.task_definition();
    let arn = site.deploy_v2();
    let (rolled_back, stages) = site.follow(&arn, "ROLLBACK_SUCCESSFUL", Duration::from_secs(90));
    assert_eq!(
        stages.last().map(String::as_str),
        Some("SCALE_UP"),
        "{stages:?}"
    );
    let breaker = rolled_back.deployment_circuit_breaker().unwrap();
    assert_eq!(breaker.status().map(|s| s.as_str()), Some("TRIGGERED"));
    assert_eq!((breaker.failure_count(), breaker.threshold()), (2, 2));
    assert!(
        rolled_back
            .status_reason()
            .unwrap()
            .contains("circuit breaker"),
        "{rolled_back:?}"
    );
    assert_eq!(production_weight(&rolled_back), Some(0.0));
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
    assert_eq!(site.task_definition(), before);
}

#[test]
fn a_blue_green_pause_hook_waits_until_continued() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .lifecycle_hooks(pause_hook(
                DeploymentLifecycleHookStage::PostTestTrafficShift,
            ))
            .build(),
        &[],
    );
    let arn = site.deploy_v2();
    site.wait(Duration::from_secs(60), "the pause", |site| {
        site.deployment(&arn)
            .lifecycle_hook_details()
            .iter()
            .any(|h| h.status().map(|s| s.as_str()) == Some("AWAITING_ACTION"))
    });
    let paused = site.deployment(&arn);
    assert_eq!(
        paused.lifecycle_stage().map(|s| s.as_str()),
        Some("POST_TEST_TRAFFIC_SHIFT")
    );
    let hook = &paused.lifecycle_hook_details()[0];
    let hook_id = hook.hook_id().unwrap().to_string();
    assert_eq!(hook.target_type().map(|t| t.as_str()), Some("PAUSE"));
    assert!(hook.expires_at().is_some());
    // Test traffic reaches v2, production stays on v1, and it keeps waiting.
    assert_eq!(site.pages(&site.test, 4), vec!["version 2"; 4]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
    assert_eq!(
        site.deployment(&arn).status().map(|s| s.as_str()),
        Some("IN_PROGRESS")
    );

    let refused = site.api.block_on(
        site.api
            .ecs
            .continue_service_deployment()
            .service_deployment_arn(&arn)
            .hook_id("not-a-hook")
            .action(DeploymentLifecycleHookAction::Continue)
            .send(),
    );
    assert!(refused.is_err(), "a wrong hook id is refused");
    let continued = site
        .api
        .block_on(
            site.api
                .ecs
                .continue_service_deployment()
                .service_deployment_arn(&arn)
                .hook_id(&hook_id)
                .action(DeploymentLifecycleHookAction::Continue)
                .send(),
        )
        .unwrap();
    assert_eq!(continued.service_deployment_arn(), Some(arn.as_str()));
    let (finished, _) = site.follow(&arn, "SUCCESSFUL", Duration::from_secs(60));
    assert_eq!(
        finished.lifecycle_hook_details()[0]
            .status()
            .map(|s| s.as_str()),
        Some("SUCCEEDED")
    );
    assert_eq!(site.pages(&site.production, 4), vec!["version 2"; 4]);
    // A hook that no longer waits cannot be continued again.
    let again = site.api.block_on(
        site.api
            .ecs
            .continue_service_deployment()
            .service_deployment_arn(&arn)
            .hook_id(&hook_id)
            .action(DeploymentLifecycleHookAction::Continue)
            .send(),
    );
    assert!(again.is_err());
}

#[test]
fn a_pause_hook_answered_with_rollback_leaves_the_old_version_serving() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Linear)
            .linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(50.0)
                    .step_bake_time_in_minutes(1)
                    .build(),
            )
            .lifecycle_hooks(pause_hook(
                DeploymentLifecycleHookStage::PostProductionTrafficShift,
            ))
            .build(),
        &[],
    );
    let before = site.task_definition();
    let arn = site.deploy_v2();
    site.wait(Duration::from_secs(60), "the pause", |site| {
        site.deployment(&arn)
            .lifecycle_hook_details()
            .iter()
            .any(|h| h.status().map(|s| s.as_str()) == Some("AWAITING_ACTION"))
    });
    let paused = site.deployment(&arn);
    assert_eq!(production_weight(&paused), Some(100.0));
    let hook_id = paused.lifecycle_hook_details()[0].hook_id().unwrap();
    site.api
        .block_on(
            site.api
                .ecs
                .continue_service_deployment()
                .service_deployment_arn(&arn)
                .hook_id(hook_id)
                .action(DeploymentLifecycleHookAction::Rollback)
                .send(),
        )
        .unwrap();
    let (rolled_back, _) = site.follow(&arn, "ROLLBACK_SUCCESSFUL", Duration::from_secs(60));
    let rollback = rolled_back.rollback().expect("the rollback's details");
    assert_eq!(
        rollback.service_revision_arn(),
        rolled_back.source_service_revisions()[0].arn()
    );
    assert!(rolled_back
        .status_reason()
        .unwrap()
        .contains("ContinueServiceDeployment"));
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
    assert_eq!(site.task_definition(), before);
}

#[test]
fn an_alarm_during_bake_rolls_the_deployment_back() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::BlueGreen)
            .bake_time_in_minutes(20)
            .alarms(
                DeploymentAlarms::builder()
                    .alarm_names("site-5xx")
                    .enable(true)
                    .rollback(true)
                    .build()
                    .unwrap(),
            )
            .build(),
        &["--alarm-during-bake", "site-5xx"],
    );
    let arn = site.deploy_v2();
    let (rolled_back, stages) = site.follow(&arn, "ROLLBACK_SUCCESSFUL", Duration::from_secs(60));
    assert!(stages.iter().any(|s| s == "BAKE_TIME"), "{stages:?}");
    let alarms = rolled_back.alarms().unwrap();
    assert_eq!(alarms.status().map(|s| s.as_str()), Some("TRIGGERED"));
    assert_eq!(alarms.triggered_alarm_names(), ["site-5xx"]);
    assert!(rolled_back.status_reason().unwrap().contains("site-5xx"));
    assert_eq!(site.pages(&site.production, 4), vec!["version 1"; 4]);
}

#[test]
fn stop_service_deployment_rolls_back_to_the_old_version() {
    let _stack = stack();
    let site = Site::start(
        DeploymentConfiguration::builder()
            .strategy(DeploymentStrategy::Linear)
            .linear_configuration(
                LinearConfiguration::builder()
                    .step_percent(25.0)
                    .step_bake_time_in_minutes(60)
                    .build(),
            )
            .build(),
        &[],
    );
    let arn = site.deploy_v2();
    site.wait(Duration::from_secs(60), "the first step", |site| {
        production_weight(&site.deployment(&arn)) == Some(25.0)
    });
    let refused = site.api.block_on(
        site.api
            .ecs
            .stop_service_deployment()
            .service_deployment_arn(&arn)
            .stop_type(StopServiceDeploymentStopType::Abort)
            .send(),
    );
    assert!(refused.is_err(), "ABORT is not a stop type ECS takes");
    site.api
        .block_on(
            site.api
                .ecs
                .stop_service_deployment()
                .service_deployment_arn(&arn)
                .stop_type(StopServiceDeploymentStopType::Rollback)
                .send(),
        )
        .unwrap();
    let (rolled_back, _) = site.follow(&arn, "ROLLBACK_SUCCESSFUL", Duration::from_secs(60));
    assert!(rolled_back.rollback().is_some());
    assert_eq!(site.pages(&site.production, 8), vec!["version 1"; 8]);
    let finished = site.api.block_on(
        site.api
            .ecs
            .stop_service_deployment()
            .service_deployment_arn(&arn)
            .stop_type(StopServiceDeploymentStopType::Rollback)
            .send(),
    );
    let error = finished.unwrap_err().into_service_error();
    assert!(error.is_conflict_exception(), "{error:?}");
}

#[test]
fn a_canary_without_an_advanced_load_balancer_configuration_is_refused() {
    let stack = stack();
    let api = Api::at(&stack.emulator);
    let cluster = unique_repo("strategies-cluster");
    let family = unique_repo("strategies-task");
    let task_definition = api.register_seed_with_image(&family, &stack.base_image);
    api.block_on(api.ecs.create_cluster().cluster_name(&cluster).send())
        .unwrap();
    let service = unique_repo("strategies-service");
    let error = api
        .block_on(
            api.ecs
                .create_service()
                .cluster(&cluster)
                .service_name(&service)
                .task_definition(&task_definition)
                .desired_count(1)
                .load_balancers(load_balancer(false))
                .deployment_configuration(
                    DeploymentConfiguration::builder()
                        .strategy(DeploymentStrategy::Canary)
                        .build(),
                )
                .send(),
        )
        .unwrap_err()
        .into_service_error();
    assert!(error.is_invalid_parameter_exception(), "{error:?}");
    assert!(
        error
            .meta()
            .message()
            .unwrap()
            .contains("alternateTargetGroupArn"),
        "{error:?}"
    );
    let described = api
        .block_on(
            api.ecs
                .describe_services()
                .cluster(&cluster)
                .services(&service)
                .send(),
        )
        .unwrap();
    assert!(described.services().is_empty(), "nothing was created");
}
