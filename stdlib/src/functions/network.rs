//! Network functions: `cidr_subnet` and `cidr_host`, for IPv4 and IPv6, as
//! Terraform's `cidrsubnet` and `cidrhost`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

use super::support::{arity, at_most, expect, int_arg, str_arg};
use super::{BuiltinError, Function, Host};
use crate::ty::Ty;
use crate::value::Value;

pub(super) const CIDR_SUBNET: Function = Function {
    name: "cidr_subnet",
    signature: "cidr_subnet(prefix: string, newbits: int, netnum: int) -> string",
    doc: r#"Computes a subnet of an IP network prefix, like Terraform's `cidrsubnet`.

- `prefix`: a network in CIDR notation, IPv4 or IPv6 (`"10.0.0.0/16"`,
  `"fd00::/48"`). Host bits set in the address are ignored.
- `newbits`: how many bits to add to the prefix length; the new length may
  not exceed 32 (IPv4) or 128 (IPv6).
- `netnum`: which subnet, from 0 to 2^`newbits` - 1.

```orch
cidr_subnet("10.0.0.0/16", 8, 2)                  // "10.0.2.0/24"
cidr_subnet("fd00:fd12:3456:7890::/56", 16, 162)  // "fd00:fd12:3456:7800:a200::/72"
```"#,
    check: check_cidr_subnet,
    eval: eval_cidr_subnet,
};

fn check_cidr_subnet(args: &[Ty]) -> Result<Ty, String> {
    arity("cidr_subnet", args, 3, 3, "prefix, newbits, netnum")?;
    expect("cidr_subnet", args, 0, "prefix", &Ty::String, "a string")?;
    expect("cidr_subnet", args, 1, "newbits", &Ty::Int, "an int")?;
    expect("cidr_subnet", args, 2, "netnum", &Ty::Int, "an int")?;
    Ok(Ty::String)
}

fn eval_cidr_subnet(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("cidr_subnet", args, 3)?;
    let prefix = str_arg("cidr_subnet", args, 0, "prefix")?;
    let newbits = int_arg("cidr_subnet", args, 1, "newbits")?;
    let netnum = int_arg("cidr_subnet", args, 2, "netnum")?;
    let network = Network::parse("cidr_subnet", prefix)?;
    let room = network.width - network.length;
    let added = u32::try_from(newbits).ok().filter(|bits| *bits <= room).ok_or_else(|| {
        BuiltinError::new(format!(
            "`cidr_subnet`: newbits must be from 0 to {room} for {prefix:?} ({} bits of {} are left), found {newbits}",
            room, network.width
        ))
    })?;
    let fits = u128::try_from(netnum).ok().filter(|n| added >= 64 || *n < (1u128 << added));
    let Some(netnum_bits) = fits else {
        let largest = if added >= 63 { i64::MAX } else { (1i64 << added) - 1 };
        return Err(BuiltinError::new(format!(
            "`cidr_subnet`: netnum must be from 0 to {largest} with {added} new bits, found {netnum}"
        )));
    };
    let length = network.length + added;
    // Shifting by the full width happens only for netnum 0 with no host
    // bits left, where the result is 0 as well.
    let offset = netnum_bits.checked_shl(network.width - length).unwrap_or(0);
    let address = network.render(network.bits | offset);
    Ok(Value::string(format!("{address}/{length}")))
}

pub(super) const CIDR_HOST: Function = Function {
    name: "cidr_host",
    signature: "cidr_host(prefix: string, hostnum: int) -> string",
    doc: r#"Computes the address of a host in an IP network prefix, like Terraform's `cidrhost`.

- `prefix`: a network in CIDR notation, IPv4 or IPv6. Host bits set in the
  address are ignored.
- `hostnum`: the host's number within the network, from 0; a negative
  number counts back from the last address (`-1`). A number outside the
  network is an error.

The result is an address without a prefix length.

```orch
cidr_host("10.12.112.0/20", 16)   // "10.12.112.16"
cidr_host("10.12.112.0/20", -2)   // "10.12.127.254"
cidr_host("fd00:fd12:3456:7890::/56", 34)   // "fd00:fd12:3456:7800::22"
```"#,
    check: check_cidr_host,
    eval: eval_cidr_host,
};

fn check_cidr_host(args: &[Ty]) -> Result<Ty, String> {
    arity("cidr_host", args, 2, 2, "prefix, hostnum")?;
    expect("cidr_host", args, 0, "prefix", &Ty::String, "a string")?;
    expect("cidr_host", args, 1, "hostnum", &Ty::Int, "an int")?;
    Ok(Ty::String)
}

fn eval_cidr_host(args: &[Value], _: &dyn Host) -> Result<Value, BuiltinError> {
    at_most("cidr_host", args, 2)?;
    let prefix = str_arg("cidr_host", args, 0, "prefix")?;
    let hostnum = int_arg("cidr_host", args, 1, "hostnum")?;
    let network = Network::parse("cidr_host", prefix)?;
    let host_bits = network.width - network.length;
    let last: u128 = if host_bits >= 128 { u128::MAX } else { (1u128 << host_bits) - 1 };
    let index = if hostnum >= 0 {
        Some(hostnum.unsigned_abs().into()).filter(|index| *index <= last)
    } else {
        // -1 is the last address, -2 the one before, …
        let back = u128::from(hostnum.unsigned_abs()) - 1;
        last.checked_sub(back)
    };
    let Some(index) = index else {
        let size = match host_bits {
            0 => "only 1 address".to_owned(),
            128.. => "2^128 addresses".to_owned(),
            _ => format!("{} addresses", last + 1),
        };
        return Err(BuiltinError::new(format!(
            "`cidr_host`: host number {hostnum} is outside {prefix:?}, which has {size}"
        )));
    };
    Ok(Value::string(network.render(network.bits | index).to_string()))
}

/// A parsed network prefix, its address as a number with the host bits
/// cleared.
struct Network {
    bits: u128,
    length: u32,
    /// 32 for IPv4, 128 for IPv6.
    width: u32,
}

impl Network {
    fn parse(name: &str, prefix: &str) -> Result<Network, BuiltinError> {
        let network: IpNet = prefix.parse().map_err(|_| {
            BuiltinError::new(format!(
                "`{name}`: {prefix:?} is not a network prefix in CIDR notation, like \"10.0.0.0/16\" or \"fd00::/48\""
            ))
        })?;
        let length = u32::from(network.prefix_len());
        Ok(match network.network() {
            IpAddr::V4(address) => Network { bits: u32::from(address).into(), length, width: 32 },
            IpAddr::V6(address) => Network { bits: u128::from(address), length, width: 128 },
        })
    }

    fn render(&self, bits: u128) -> IpAddr {
        if self.width == 32 {
            // Only the low 32 bits are ever set for an IPv4 network.
            IpAddr::V4(Ipv4Addr::from(bits as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from(bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{check, eval, eval_err, s};
    use super::*;

    fn subnet(prefix: &str, newbits: i64, netnum: i64) -> Value {
        eval(&CIDR_SUBNET, &[s(prefix), Value::Int(newbits), Value::Int(netnum)])
    }

    fn subnet_err(prefix: &str, newbits: i64, netnum: i64) -> String {
        eval_err(&CIDR_SUBNET, &[s(prefix), Value::Int(newbits), Value::Int(netnum)])
    }

    fn host(prefix: &str, hostnum: i64) -> Value {
        eval(&CIDR_HOST, &[s(prefix), Value::Int(hostnum)])
    }

    fn host_err(prefix: &str, hostnum: i64) -> String {
        eval_err(&CIDR_HOST, &[s(prefix), Value::Int(hostnum)])
    }

    #[test]
    fn subnets_like_terraform() {
        assert_eq!(subnet("172.16.0.0/12", 4, 2), s("172.18.0.0/16"));
        assert_eq!(subnet("10.1.2.0/24", 4, 15), s("10.1.2.240/28"));
        assert_eq!(subnet("10.0.0.0/16", 8, 2), s("10.0.2.0/24"));
        assert_eq!(subnet("10.1.2.3/16", 0, 0), s("10.1.0.0/16"));
        assert_eq!(subnet("0.0.0.0/0", 32, 1), s("0.0.0.1/32"));
        assert_eq!(subnet("fd00:fd12:3456:7890::/56", 16, 162), s("fd00:fd12:3456:7800:a200::/72"));
        assert_eq!(subnet("::/0", 0, 0), s("::/0"));
        assert_eq!(subnet("::/0", 128, i64::MAX), s("::7fff:ffff:ffff:ffff/128"));
    }

    #[test]
    fn subnet_errors() {
        assert_eq!(
            subnet_err("10.0.0.0/16", 17, 0),
            "`cidr_subnet`: newbits must be from 0 to 16 for \"10.0.0.0/16\" (16 bits of 32 are left), found 17"
        );
        assert!(subnet_err("10.0.0.0/16", -1, 0).contains("found -1"));
        assert_eq!(
            subnet_err("10.0.0.0/16", 8, 256),
            "`cidr_subnet`: netnum must be from 0 to 255 with 8 new bits, found 256"
        );
        assert!(subnet_err("10.0.0.0/16", 8, -1).contains("found -1"));
        assert_eq!(
            subnet_err("10.0.0.0", 8, 1),
            "`cidr_subnet`: \"10.0.0.0\" is not a network prefix in CIDR notation, like \"10.0.0.0/16\" or \"fd00::/48\""
        );
        assert!(subnet_err("10.0.0.0/33", 1, 1).contains("not a network prefix"));
        assert_eq!(check(&CIDR_SUBNET, &[Ty::String, Ty::Int, Ty::Int]), Ok(Ty::String));
        assert_eq!(
            check(&CIDR_SUBNET, &[Ty::String, Ty::String, Ty::Int]),
            Err("`cidr_subnet` takes an int as its second argument `newbits`, found string".into())
        );
    }

    #[test]
    fn hosts_like_terraform() {
        assert_eq!(host("10.12.112.0/20", 16), s("10.12.112.16"));
        assert_eq!(host("10.12.112.0/20", 268), s("10.12.113.12"));
        assert_eq!(host("10.12.112.0/20", -2), s("10.12.127.254"));
        assert_eq!(host("10.12.112.0/20", -1), s("10.12.127.255"));
        assert_eq!(host("10.0.0.5/32", 0), s("10.0.0.5"));
        assert_eq!(host("fd00:fd12:3456:7890::/56", 34), s("fd00:fd12:3456:7800::22"));
        assert_eq!(host("fd00:fd12:3456:7890:00a2::/72", 34), s("fd00:fd12:3456:7890::22"));
        assert_eq!(host("::/0", -1), s("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
        assert_eq!(host("::/0", i64::MIN), s("ffff:ffff:ffff:ffff:8000::"));
    }

    #[test]
    fn host_errors() {
        assert_eq!(
            host_err("10.12.112.0/20", 4096),
            "`cidr_host`: host number 4096 is outside \"10.12.112.0/20\", which has 4096 addresses"
        );
        assert!(host_err("10.12.112.0/20", -4097).contains("outside"));
        assert_eq!(host("10.12.112.0/20", -4096), s("10.12.112.0"));
        assert!(host_err("10.0.0.0/32", i64::MIN).contains("which has only 1 address"));
        assert!(host_err("banana", 1).contains("not a network prefix"));
        assert_eq!(check(&CIDR_HOST, &[Ty::String, Ty::Int]), Ok(Ty::String));
        assert!(check(&CIDR_HOST, &[Ty::String]).is_err());
    }
}
