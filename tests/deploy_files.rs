//! The deployment files, checked without a container engine: the Compose
//! stack, the Dockerfile and the Kubernetes manifests parse; every file they
//! reference exists; every SalesPulse setting they pass is a real config
//! key (`salespulse check-config` accepts it); ports, probes, labels,
//! selectors, the consumer group and the topic agree with each other and
//! with the service's configuration; `promtool` accepts the Compose
//! Prometheus configuration.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_yaml::Value;

#[path = "support/scratch.rs"]
mod scratch;

fn repo(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(p)
}

fn yaml(p: &str) -> Value {
    let text = std::fs::read_to_string(repo(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string: {cur:?}"))
}

/// `salespulse check-config` with `env` set and optionally `--config dir`.
fn check_config(env: &BTreeMap<String, String>, dir: Option<&Path>) -> String {
    let mut c = Command::new(env!("CARGO_BIN_EXE_salespulse"));
    c.arg("check-config");
    if let Some(d) = dir {
        c.args(["--config", d.to_str().unwrap()]);
    }
    c.envs(env);
    let o = c.output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "check-config with {env:?}: {out}");
    out
}

fn port_of(listen: &str) -> u16 {
    listen.rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn compose_stack_references_real_files_settings_and_ports() {
    let c = yaml("deploy/compose.yaml");
    let services = c["services"].as_mapping().unwrap();
    for want in [
        "kafka",
        "topics",
        "salespulse",
        "loadgen",
        "prometheus",
        "alertmanager",
        "grafana",
    ] {
        let s = &c["services"][want];
        assert!(s.is_mapping(), "service {want} missing");
        assert!(
            s["image"].is_string() || s["build"].is_mapping(),
            "{want}: no image or build"
        );
    }
    let build = &c["services"]["topics"]["build"];
    let context = repo("deploy").join(str_of(build, &["context"]));
    assert!(context.join(str_of(build, &["dockerfile"])).is_file());
    // Every mounted host path exists.
    for (name, s) in services {
        for v in s["volumes"].as_sequence().into_iter().flatten() {
            let host = v.as_str().unwrap().split(':').next().unwrap();
            assert!(
                repo("deploy").join(host).exists(),
                "{name:?}: {host} missing"
            );
        }
    }
    // SalesPulse settings passed by environment are real keys with valid values.
    let mut http_port = None;
    for name in ["topics", "salespulse"] {
        let env: BTreeMap<String, String> = c["services"][name]["environment"]
            .as_mapping()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().unwrap().to_string(),
                    v.as_str().unwrap().to_string(),
                )
            })
            .filter(|(k, _)| k.starts_with("SALESPULSE__"))
            .collect();
        assert!(!env.is_empty());
        check_config(&env, None);
        if let Some(l) = env.get("SALESPULSE__HTTP__LISTEN") {
            http_port = Some(port_of(l));
        }
    }
    let port = http_port.expect("salespulse sets http.listen");
    let published: Vec<&str> = c["services"]["salespulse"]["ports"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    // Published on the host's loopback only: the trial stack has no tokens.
    assert!(
        published.contains(&format!("127.0.0.1:{port}:{port}").as_str()),
        "{published:?}"
    );
    // Prometheus scrapes that port and loads the rules that are mounted.
    let prom = yaml("deploy/compose/prometheus.yml");
    let targets = &prom["scrape_configs"][0]["static_configs"][0]["targets"];
    assert_eq!(
        targets[0].as_str(),
        Some(format!("salespulse:{port}").as_str())
    );
    assert_eq!(
        prom["rule_files"][0].as_str(),
        Some("/etc/prometheus/rules/salespulse.yml")
    );
    assert!(repo("deploy/prometheus/rules/salespulse.yml").is_file());
    // Grafana loads the boards from where Compose mounts them.
    let provider = yaml("deploy/grafana/provisioning/dashboards/salespulse.yml");
    let path = str_of(&provider["providers"][0]["options"], &["path"]);
    let mounts: Vec<&str> = c["services"]["grafana"]["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        mounts.iter().any(|m| m.contains(&format!(":{path}"))),
        "{mounts:?}"
    );
    // The load generator writes to the input topic the service reads.
    let cmd: Vec<&str> = c["services"]["loadgen"]["command"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let topic = cmd[cmd.iter().position(|a| *a == "--topic").unwrap() + 1];
    let shipped = std::fs::read_to_string(repo("config/salespulse.toml")).unwrap();
    assert!(
        shipped.contains(&format!("topics = [\"{topic}\"]")),
        "input.topics"
    );
}

#[test]
#[cfg_attr(
    not(feature = "external"),
    ignore = "needs promtool (scripts/test runs it: cargo test --features external)"
)]
fn compose_prometheus_config_passes_promtool() {
    let text = std::fs::read_to_string(repo("deploy/compose/prometheus.yml")).unwrap();
    let rules = repo("deploy/prometheus/rules/salespulse.yml");
    let local = text.replace(
        "/etc/prometheus/rules/salespulse.yml",
        rules.to_str().unwrap(),
    );
    let dir = scratch::scratch("compose-prom");
    let file = dir.join("prometheus.yml");
    std::fs::write(&file, local).unwrap();
    let o = Command::new("promtool")
        .args(["check", "config", file.to_str().unwrap()])
        .output()
        .expect("promtool (scripts/install-test-deps installs it)");
    assert!(
        o.status.success(),
        "{}",
        String::from_utf8_lossy(&o.stdout) + String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn dockerfile_is_multi_stage_non_root_with_a_health_check() {
    let d = std::fs::read_to_string(repo("Dockerfile")).unwrap();
    assert!(
        d.lines().filter(|l| l.starts_with("FROM ")).count() >= 2,
        "multi-stage"
    );
    assert!(d.contains("COPY --from=build"));
    let user = d.lines().rfind(|l| l.starts_with("USER ")).expect("USER");
    assert!(!user.contains("root") && !user.contains(" 0"), "{user}");
    let listen = d
        .lines()
        .find_map(|l| l.strip_prefix("ENV SALESPULSE__HTTP__LISTEN="))
        .expect("http.listen");
    let port = port_of(listen);
    assert!(d.contains(&format!("EXPOSE {port}")));
    assert!(d.contains("HEALTHCHECK") && d.contains(&format!("127.0.0.1:{port}/healthz")));
}

#[test]
fn kubernetes_manifests_agree_with_each_other_and_the_config() {
    let dep = yaml("deploy/k8s/statefulset.yaml");
    let svc = yaml("deploy/k8s/service.yaml");
    let cm = yaml("deploy/k8s/configmap.yaml");
    let pdb = yaml("deploy/k8s/pdb.yaml");
    let sm = yaml("deploy/k8s/servicemonitor.yaml");
    let keda = yaml("deploy/k8s/keda-scaledobject.yaml");
    for (v, kind) in [
        (&dep, "StatefulSet"),
        (&svc, "Service"),
        (&cm, "ConfigMap"),
        (&pdb, "PodDisruptionBudget"),
        (&sm, "ServiceMonitor"),
        (&keda, "ScaledObject"),
    ] {
        assert_eq!(v["kind"].as_str(), Some(kind));
        assert!(v["metadata"]["name"].is_string());
    }
    // The ConfigMap is a valid configuration.
    let dir = scratch::scratch("k8s");
    let toml = str_of(&cm["data"], &["salespulse.toml"]);
    std::fs::write(dir.join("salespulse.toml"), toml).unwrap();
    check_config(&BTreeMap::new(), Some(&dir));
    let settings: toml_lite::Table = toml_lite::parse(toml);
    let port = port_of(&settings["http.listen"]);

    let pod = &dep["spec"]["template"];
    assert_eq!(
        dep["spec"]["selector"]["matchLabels"],
        pod["metadata"]["labels"]
    );
    let c = &pod["spec"]["containers"][0];
    assert!(c["image"].as_str().is_some_and(|i| !i.is_empty()));
    assert_eq!(c["ports"][0]["name"].as_str(), Some("http"));
    assert_eq!(
        c["ports"][0]["containerPort"].as_u64(),
        Some(u64::from(port))
    );
    assert_eq!(str_of(c, &["readinessProbe", "httpGet", "path"]), "/readyz");
    assert_eq!(str_of(c, &["livenessProbe", "httpGet", "path"]), "/healthz");
    assert_eq!(str_of(c, &["readinessProbe", "httpGet", "port"]), "http");
    assert!(
        c["resources"]["requests"]["cpu"].is_string()
            && c["resources"]["limits"]["memory"].is_string()
    );
    assert_eq!(
        pod["spec"]["securityContext"]["runAsNonRoot"].as_bool(),
        Some(true)
    );
    assert_eq!(
        c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
        Some(false)
    );
    // The config volume is the ConfigMap, mounted where `--config` reads.
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    let config_dir = args[args.iter().position(|a| *a == "--config").unwrap() + 1];
    assert_eq!(str_of(&c["volumeMounts"][0], &["mountPath"]), config_dir);
    assert_eq!(
        str_of(&pod["spec"]["volumes"][0], &["configMap", "name"]),
        str_of(&cm, &["metadata", "name"])
    );
    // Service, PodDisruptionBudget and ServiceMonitor select these pods.
    let labels = &pod["metadata"]["labels"];
    assert_eq!(&svc["spec"]["selector"], labels);
    assert_eq!(str_of(&svc["spec"]["ports"][0], &["targetPort"]), "http");
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(
        sm["spec"]["selector"]["matchLabels"],
        svc["metadata"]["labels"]
    );
    assert_eq!(
        sm["spec"]["endpoints"][0]["port"],
        svc["spec"]["ports"][0]["name"]
    );
    // Each pod joins the group under its own stable name (static membership).
    let instance = c["env"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some("SALESPULSE__KAFKA__INSTANCE_ID"))
        .expect("SALESPULSE__KAFKA__INSTANCE_ID in the pod's env");
    assert_eq!(
        str_of(instance, &["valueFrom", "fieldRef", "fieldPath"]),
        "metadata.name"
    );
    let mut env = BTreeMap::new();
    env.insert(
        "SALESPULSE__KAFKA__INSTANCE_ID".to_string(),
        "salespulse-0".to_string(),
    );
    check_config(&env, Some(&dir));
    // KEDA scales this StatefulSet on this consumer group's lag, up to one
    // replica per input partition.
    assert_eq!(
        keda["spec"]["scaleTargetRef"]["name"],
        dep["metadata"]["name"]
    );
    assert_eq!(
        str_of(&keda["spec"]["scaleTargetRef"], &["kind"]),
        "StatefulSet"
    );
    let t = &keda["spec"]["triggers"][0]["metadata"];
    assert_eq!(str_of(t, &["consumerGroup"]), settings["kafka.group_id"]);
    assert_eq!(str_of(t, &["bootstrapServers"]), settings["kafka.brokers"]);
    assert_eq!(str_of(t, &["topic"]), "sales.events");
    assert_eq!(
        keda["spec"]["maxReplicaCount"]
            .as_u64()
            .map(|n| n.to_string()),
        Some(settings["topics.partitions"].clone())
    );
}

/// Just enough TOML for the ConfigMap's flat `[section] key = value` lines.
mod toml_lite {
    pub type Table = std::collections::BTreeMap<String, String>;

    pub fn parse(text: &str) -> Table {
        let mut section = String::new();
        let mut out = Table::new();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = s.to_string();
            } else if let Some((k, v)) = line.split_once('=') {
                out.insert(
                    format!("{section}.{}", k.trim()),
                    v.trim().trim_matches('"').to_string(),
                );
            }
        }
        out
    }
}
