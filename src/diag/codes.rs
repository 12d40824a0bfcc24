//! Stable diagnostic codes: one per rule, shown in human output (`error[IG301]`) and
//! present in JSON and GitHub annotations, so scripts and people can refer to a rule
//! whatever its wording. The table in `docs/DIAGNOSTICS.md` lists every code with the
//! same summary (a test keeps the two equal). Codes are never reused for another rule:
//! when a rule goes, its code is retired and listed here (none so far). Every code has a
//! blueprint that produces it, `tests/fixtures/diagnostics/<code>.yaml` (a test checks).

macro_rules! codes {
    ($($variant:ident = $code:literal, $summary:literal;)+) => {
        /// What rule a diagnostic reports.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($variant),+
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];

            /// The stable code, e.g. `IG301`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code),+
                }
            }

            /// One line on what the rule is about.
            pub fn summary(self) -> &'static str {
                match self {
                    $(Code::$variant => $summary),+
                }
            }
        }
    };
}

codes! {
    // The file and its structure.
    Syntax = "IG001", "the file is not valid YAML";
    UnknownField = "IG002", "a key the blueprint does not have";
    WrongType = "IG003", "a value of the wrong type for its field";
    DuplicateKey = "IG004", "a key written twice in one mapping";
    Empty = "IG005", "the blueprint is empty";
    NotUtf8 = "IG006", "the file is not UTF-8 text";
    Missing = "IG007", "a required field has no value in an environment";
    // Names and shared code.
    Name = "IG101", "`name` is not a valid deployment name";
    EnvName = "IG102", "an environment name that is not safe in file paths";
    EnvTwice = "IG103", "an environment defined twice";
    NoEnvironments = "IG104", "no environments defined";
    SharedDiffers = "IG105", "a value of shared module code or role differs between environments";
    ModuleName = "IG106", "not a Terraform module directory name";
    ModulesClash = "IG107", "the ElastiCache module is the host's own module";
    OutputTooLarge = "IG108", "a generated file would be larger than infragen reads back";
    // The host and the AWS account.
    ResourceAddress = "IG201", "not the address of the kind of resource the field names";
    AnsibleGroup = "IG202", "not a usable Ansible group name";
    Region = "IG203", "not an AWS region name";
    VpcCidr = "IG204", "not a VPC CIDR";
    Mode = "IG205", "not a place Redis can run (`self_hosted` or `elasticache`)";
    // The network.
    Port = "IG301", "a TCP port Redis cannot use";
    Bind = "IG302", "not an IP address Redis can bind";
    BindOverlap = "IG303", "bind addresses that Redis cannot listen on together";
    Source = "IG304", "not an allowed source (a CIDR or `vpc`)";
    WorldOpen = "IG305", "sources that open the Redis port to the whole internet";
    SourceTwice = "IG306", "a source listed twice";
    Unreachable = "IG307", "no client could reach Redis";
    PlaintextPort = "IG308", "a plaintext port that is the TLS port, or one without TLS";
    // Redis itself.
    Version = "IG401", "an engine version infragen does not write configuration for";
    BlockedCommand = "IG402", "not a command infragen can block, or one listed twice";
    PasswordLength = "IG403", "a password length out of range";
    SecretName = "IG404", "not a Secrets Manager secret name";
    RecoveryDays = "IG405", "a recovery window Secrets Manager does not allow";
    KmsArn = "IG406", "not a KMS key ARN";
    MemorySize = "IG407", "not a usable memory size";
    Policy = "IG408", "not a Redis 7 eviction policy";
    SaveRule = "IG409", "an RDB snapshot rule Redis cannot hold";
    Fsync = "IG410", "not an appendfsync mode";
    Engine = "IG411", "not an engine (`redis` or `valkey`)";
    HostPackage = "IG412", "an engine version no supported Debian host installs";
    EngineSwitch = "IG413", "an engine switch the data on the host cannot survive";
    TlsCertDays = "IG414", "a TLS certificate lifetime out of range";
    UpgradeDefault = "IG415", "a new default that would cut consumers off a running deployment";
    // ElastiCache.
    Placement = "IG501", "half an ElastiCache placement (`vpc_id` without `subnet_ids`, or the reverse)";
    Reference = "IG502", "not a Terraform reference";
    NodeType = "IG503", "an ElastiCache node type infragen does not know";
    Nodes = "IG504", "a node count out of range";
    Price = "IG505", "not an hourly price";
    Retention = "IG506", "a snapshot retention out of range";
    Window = "IG507", "not a usable maintenance or snapshot window";
    EngineVersion = "IG508", "an engine version ElastiCache does not run";
    Identifier = "IG509", "an identifier derived from the names that AWS would refuse";
    Sizing = "IG510", "maxmemory does not fit the node's usable memory";
    MultiAz = "IG511", "Multi-AZ that the node type or count cannot have";
    // The shared host.
    InstanceType = "IG601", "an EC2 instance type infragen does not know";
    Reserve = "IG602", "not a memory size for the Asterisk reserve";
    Capacity = "IG603", "Redis's worst case and the Asterisk reserve do not fit the host";
    // Monitoring.
    Namespace = "IG701", "not a custom CloudWatch namespace";
    AlertPercent = "IG702", "a memory alert percentage out of range";
    Interval = "IG703", "not a metric period";
    SnsArn = "IG704", "not an SNS topic ARN";
    NotifyNobody = "IG705", "alarms that would notify nobody";
    Notify = "IG706", "not an email address or HTTPS URL to notify, or one listed twice";
    Threshold = "IG707", "an alarm threshold out of range";
    // Consumers.
    ConsumerName = "IG801", "a consumer name that is invalid or listed twice";
    ConsumerReference = "IG802", "a consumer's security group or role that is not a Terraform reference";
    ConsumerKeys = "IG803", "a consumer key pattern a Redis ACL cannot hold, or one listed twice";
    ConsumerAccess = "IG804", "not a consumer access level (`read_write` or `read_only`)";
    // Backups.
    BackupBucket = "IG901", "not an S3 bucket name, or a generated one AWS would refuse";
    BackupSchedule = "IG902", "a backup interval, retention or age alarm out of range";
}
