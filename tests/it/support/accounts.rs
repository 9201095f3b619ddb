//! A fleet across two accounts and two regions (issue 13), for the emulator's own tests and
//! the client's (`gangway list --profile a,b`, the UI): who is where, and the roles.

use std::path::PathBuf;
use std::process::{Command, Output};

use gangway::emulator::Fleet;

use super::emulator::{GANGWAY, SpawnedEmulator, spawn};

/// The default account (alice, dev, admin) and the other one (bob, the roles).
pub const ACCOUNT_A: &str = "123456789012";
pub const ACCOUNT_B: &str = "210987654321";
pub const ALICE: &str = "AKIAACCOUNTALICE";
pub const BOB: &str = "AKIAACCOUNTBOB";
/// Trusts account A, whose callers need `sts:AssumeRole` in their own policies (alice has it).
pub const OPS_ROLE: &str = "arn:aws:iam::210987654321:role/ops";
/// Trusts account A like ops, with an administrator's permissions in account B (Run
/// Command, documents).
pub const OPS_ADMIN_ROLE: &str = "arn:aws:iam::210987654321:role/ops-admin";
/// Trusts nobody gangway's tests sign as: assuming it is always AccessDenied.
pub const LOCKED_ROLE: &str = "arn:aws:iam::210987654321:role/locked";

pub const FLEET: &str = r#"
[[users]]
name = "alice"
access_key_id = "AKIAACCOUNTALICE"
policies = ['{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:Describe*","ssm:*","sts:AssumeRole"],"Resource":"*"}]}']

[[users]]
name = "bob"
access_key_id = "AKIAACCOUNTBOB"
account = "210987654321"
role = "admin"

[[roles]]
name = "ops"
account = "210987654321"
trust = ["arn:aws:iam::123456789012:root"]
role = "engineer"

[[roles]]
name = "ops-admin"
account = "210987654321"
trust = ["arn:aws:iam::123456789012:root"]
role = "admin"

[[roles]]
name = "self-service"
trust = ["arn:aws:iam::123456789012:user/dev"]
role = "engineer"

[[roles]]
name = "locked"
account = "210987654321"
trust = ["arn:aws:iam::999999999999:root"]
role = "admin"

[[instances]]
id = "i-0a00000000000a001"
name = "a-east-web"
region = "us-east-1"

[[instances]]
id = "i-0a00000000000a002"
name = "a-west-web"
region = "eu-west-1"

[[instances]]
id = "i-0a00000000000a003"
name = "a-everywhere"

[[instances]]
id = "i-0b00000000000b001"
name = "b-east-db"
account = "210987654321"
region = "us-east-1"

[[instances]]
id = "i-0b00000000000b002"
name = "b-west-cache"
account = "210987654321"
region = "eu-west-1"
"#;

pub fn fleet() -> Fleet {
    Fleet::from_toml(FLEET, "accounts fleet").expect("the accounts fleet parses")
}

const CREDENTIALS: &str = "
[main]
aws_access_key_id = AKIAACCOUNTALICE
aws_secret_access_key = gangway

[other]
aws_access_key_id = AKIAACCOUNTBOB
aws_secret_access_key = gangway
";

/// The shared config: two key profiles, and two role profiles aws-config assumes itself.
fn config() -> String {
    format!(
        "
[profile main]
region = us-east-1

[profile other]
region = us-east-1

[profile ops]
role_arn = {OPS_ROLE}
source_profile = main
region = eu-west-1

[profile locked]
role_arn = {LOCKED_ROLE}
source_profile = main
region = us-east-1
"
    )
}

/// A directory per test with the AWS files, the fleet file and a HOME.
pub struct Sandbox {
    pub dir: PathBuf,
}

impl Sandbox {
    pub fn new(name: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("accounts-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("home")).unwrap();
        std::fs::write(dir.join("config"), config()).unwrap();
        std::fs::write(dir.join("credentials"), CREDENTIALS).unwrap();
        std::fs::write(dir.join("fleet.toml"), FLEET).unwrap();
        Self { dir }
    }

    pub fn emulator(&self) -> SpawnedEmulator {
        spawn(&["--fleet", self.dir.join("fleet.toml").to_str().unwrap()])
    }

    /// The environment of a user with these files and nothing else.
    pub fn env(&self, endpoint: &str) -> Vec<(String, String)> {
        let path = |name: &str| self.dir.join(name).display().to_string();
        vec![
            ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
            ("HOME".into(), path("home")),
            ("AWS_CONFIG_FILE".into(), path("config")),
            ("AWS_SHARED_CREDENTIALS_FILE".into(), path("credentials")),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
            ("AWS_ENDPOINT_URL".into(), endpoint.to_owned()),
        ]
    }

    pub fn gangway(&self, endpoint: &str, args: &[&str]) -> Output {
        Command::new(GANGWAY)
            .args(args)
            .env_clear()
            .envs(self.env(endpoint))
            .output()
            .unwrap()
    }
}
