//! A fleet across two accounts and two regions (issue 13), for the emulator's own tests and
//! the client's (`gangway list --profile a,b`, the UI): who is where, and the roles.

use gangway::emulator::Fleet;

/// The default account (alice, dev, admin) and the other one (bob, the roles).
pub const ACCOUNT_A: &str = "123456789012";
pub const ACCOUNT_B: &str = "210987654321";
pub const ALICE: &str = "AKIAACCOUNTALICE";
pub const BOB: &str = "AKIAACCOUNTBOB";
/// Trusts account A, whose callers need `sts:AssumeRole` in their own policies (alice has it).
pub const OPS_ROLE: &str = "arn:aws:iam::210987654321:role/ops";
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
