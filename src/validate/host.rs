//! The existing Asterisk host and the AWS account: the region, the VPC, the module and
//! resources the generated code attaches to, the inventory group, and where Redis runs.

use super::resolver::{Resolver, Shared};
use super::syntax::{is_address, is_identifier, is_region, is_yaml_special, parse_cidr};
use crate::diag::Code;
use crate::field::Field;
use crate::model::Val;
use crate::rules::Mode;
use crate::suggest::did_you_mean;
use std::net::IpAddr;

impl Resolver<'_> {
    /// `aws.region` and `aws.vpc_cidr`, both required.
    pub(super) fn aws(&mut self) -> (Option<Val<String>>, Option<Val<String>>) {
        let region = self.required(
            Field::AwsRegion,
            |l| l.aws.as_ref()?.region.as_ref(),
            "`region: us-east-1`",
        );
        let vpc_cidr = self.required(
            Field::AwsVpcCidr,
            |l| l.aws.as_ref()?.vpc_cidr.as_ref(),
            "`vpc_cidr: 10.0.0.0/16`",
        );
        if let Some(r) = &region {
            self.ensure(
                is_region(&r.value),
                Code::Region,
                r,
                || format!("`{}` is not an AWS region name", r.value),
                "a region such as `us-east-1` or `eu-west-2`",
            );
        }
        if let Some(v) = &vpc_cidr {
            let help = "an IPv4 CIDR such as `10.0.0.0/16`";
            match parse_cidr(&v.value) {
                Ok((IpAddr::V4(_), prefix)) if (16..=28).contains(&prefix) => {}
                Ok((IpAddr::V4(_), prefix)) => self.err(
                    Code::VpcCidr,
                    v,
                    format!("a VPC CIDR must have a prefix between /16 and /28, not /{prefix}"),
                    help,
                ),
                Ok(_) => self.err(
                    Code::VpcCidr,
                    v,
                    format!("`{}` is not an IPv4 CIDR", v.value),
                    help,
                ),
                Err(e) => self.err(Code::VpcCidr, v, e, help),
            }
        }
        (region, vpc_cidr)
    }

    /// The host's module, resources and inventory group: shared by every environment.
    pub(super) fn host(&mut self) -> Option<Shared> {
        let module = self.required(
            Field::HostTerraformModule,
            |l| l.host.as_ref()?.terraform_module.as_ref(),
            "`terraform_module: compute`",
        );
        let instance = self.required(
            Field::HostInstance,
            |l| l.host.as_ref()?.instance.as_ref(),
            "`instance: aws_instance.asterisk`",
        );
        let sg = self.required(
            Field::HostSecurityGroup,
            |l| l.host.as_ref()?.security_group.as_ref(),
            "`security_group: aws_security_group.asterisk`",
        );
        let role = self.required(
            Field::HostIamRole,
            |l| l.host.as_ref()?.iam_role.as_ref(),
            "`iam_role: aws_iam_role.asterisk`",
        );
        let group = self.required(
            Field::HostAnsibleGroup,
            |l| l.host.as_ref()?.ansible_group.as_ref(),
            "`ansible_group: asterisk`",
        );

        if let Some(m) = &module {
            self.ensure(
                is_identifier(&m.value) && !super::syntax::is_reserved_name(&m.value),
                Code::ModuleName,
                m,
                || format!("`{}` is not a Terraform module directory name", m.value),
                "letters, digits, `_` and `-`, starting with a letter (the directory under terraform/modules/)",
            );
        }
        for (v, kind) in [
            (&instance, "aws_instance"),
            (&sg, "aws_security_group"),
            (&role, "aws_iam_role"),
        ] {
            if let Some(v) = v {
                self.ensure(
                    is_address(&v.value, kind),
                    Code::ResourceAddress,
                    v,
                    || format!("`{}` is not the address of an `{kind}` resource", v.value),
                    &format!("`{kind}.<name>`, the resource as the module declares it"),
                );
            }
        }
        if let Some(g) = &group {
            let valid = is_identifier(&g.value) && !g.value.contains('-');
            if self.ensure(
                valid,
                Code::AnsibleGroup,
                g,
                || format!("`{}` is not a valid Ansible group name", g.value),
                "letters, digits and `_`, starting with a letter",
            ) {
                self.ensure(
                    !is_yaml_special(&g.value),
                    Code::AnsibleGroup,
                    g,
                    || {
                        format!(
                            "`{}` reads as a boolean or null in YAML, not as a group name",
                            g.value
                        )
                    },
                    "a name that YAML reads as a string, e.g. `asterisk`",
                );
            }
        }
        Some(vec![module?, instance?, sg?, role?, group?])
    }

    /// `redis.mode`: where Redis runs in this environment.
    pub(super) fn mode(&mut self) -> Option<Val<Mode>> {
        let raw = self.or(
            Field::RedisMode,
            |l| l.redis.as_ref()?.mode.as_ref(),
            Mode::SelfHosted.as_str().to_string(),
        );
        match Mode::parse(&raw.value) {
            Some(mode) => Some(raw.map(|_| mode)),
            None => {
                self.err(
                    Code::Mode,
                    &raw,
                    format!(
                        "`{}` is not a place Redis can run{}",
                        raw.value,
                        did_you_mean(&raw.value, Mode::NAMES.iter().copied())
                    ),
                    "`self_hosted` (on the Asterisk host) or `elasticache`",
                );
                None
            }
        }
    }
}
