"""The `rccserver` command line (SPEC section 2).

    rccserver run [--config FILE]          serve until SIGTERM/SIGINT
    rccserver -reload [--config FILE]      reload the AD cache and CIC data of the running server
    rccserver check-config [--config FILE] validate the configuration and its data files
    rccserver certs [--out DIR]            make a private CA and server/client certificates
    rccserver probe --as sip:USER [...]    sign in like Lync and diagnose the logon chain
    rccserver dialplan test NUMBER [...]   show what the dial plan makes of a number

Exit codes: 0 success; 1 reload failed or no server running (probe: logon fails);
2 configuration error. docs/admin-guide.md describes every command and option.
"""
from __future__ import annotations

import argparse
import sys

from rccserver import __version__

EXIT_OK = 0
EXIT_RELOAD_FAILED = 1
EXIT_CONFIG_ERROR = 2


def _add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (TOML); default: the bundled demo configuration, "
        "with its log and pid files in the current directory",
    )


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual but keeps the example lines of an epilog as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line + "\n" for line in text.splitlines()).rstrip("\n")
        return super()._fill_text(text, width, indent)


def _examples(*commands: str) -> str:
    return "examples:\n" + "\n".join(f"  {command}" for command in commands)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rccserver",
        description="Remote Call Control (uaCSTA) server: lets Lync / Skype for Business "
        "clients drive PBX desk phones. Lync's front end routes each user's RCC SIP dialog "
        "to the [line] port (11001 by default); rccserver maps the user through the AD cache "
        "to a CIC user and station and answers in CSTA.",
        epilog="'rccserver -reload' is accepted as a synonym of 'rccserver reload'. "
        "SIGHUP to the server process reloads too. "
        "Exit codes: 0 success; 1 reload failed, no server running, or the probe found a "
        "problem; 2 configuration error or bad usage. "
        "Run 'rccserver COMMAND --help' for a command's options. "
        "The administrator's guide is docs/admin-guide.md; every configuration key is in "
        "docs/configuration.md.",
    )
    parser.add_argument("--version", action="version", version=f"rccserver {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run = commands.add_parser(
        "run",
        help="run the server in the foreground",
        description="Run the server in the foreground until SIGTERM or SIGINT; on stop, every "
        "RCC dialog is ended with BYE. Exit 0 after a clean stop, 2 on a configuration error. "
        "Without --config: the bundled demo (TCP 11001, demo directory and CIC data, admin API "
        "on 127.0.0.1:8011).",
        epilog=_examples(
            "rccserver run --config /etc/rccserver/rccserver.toml",
            "rccserver run --config rccserver.toml --log-format json",
            "rccserver run                      # the bundled demo",
        ),
        formatter_class=_HelpFormatter,
    )
    _add_config_option(run)
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="format of the RCCServer log (overrides [server] log_format)",
    )

    reload = commands.add_parser(
        "reload",
        help="reload the AD cache and CIC data of the running server",
        description="Ask the running server (found through its pid file) to reload the AD cache "
        "and the CIC data without dropping sessions, wait for the outcome and print what "
        "changed. Exit 0 reloaded; 1 no server running or the reload failed (the old data "
        "stays in force). The configuration file itself is read only at start.",
        epilog=_examples(
            "rccserver -reload --config /etc/rccserver/rccserver.toml",
            "rccserver reload --config rccserver.toml --timeout 300",
        ),
        formatter_class=_HelpFormatter,
    )
    _add_config_option(reload)
    reload.add_argument(
        "--timeout", type=float, default=120.0, metavar="SECONDS",
        help="how long to wait for the outcome (default 120)",
    )

    check = commands.add_parser(
        "check-config",
        help="validate the configuration and every data file it names",
        description="Validate the configuration and every data file it names; print every "
        "problem (a configuration error does not hide the data files' problems: each file whose "
        "key is valid is still checked). Our TLS certificate (PEM, or PKCS#12 .pfx/.p12 with "
        "certificate_password_file) must load, match its key, be valid now and carry the "
        "serverAuth EKU. Doubtful but legal data is a warning (a missing I3_FEATURE_LYNC "
        "licence, a shared domain account, a certificate expiring within 30 days, a key "
        "readable by everyone). Exit 0 valid, 2 invalid.",
        epilog=_examples("rccserver check-config --config /etc/rccserver/rccserver.toml"),
        formatter_class=_HelpFormatter,
    )
    _add_config_option(check)

    certs = commands.add_parser(
        "certs",
        help="make a private test CA with server and client certificates",
        description="Write a private CA, a server certificate (serverAuth EKU) and a client "
        "certificate (clientAuth EKU) as PEM files, plus negative-test variants. For labs and "
        "tests only: production uses a certificate from the CA the Lync pool trusts.",
        epilog=_examples(
            "rccserver certs --out certs --host rcc.example.com --no-variants",
            "rccserver certs --out certs --host rcc.example.com --extra-host 192.0.2.10 "
            "--client-name pool01.example.com --force",
        ),
        formatter_class=_HelpFormatter,
    )
    from rccserver.commands import certs as certs_module

    certs_module.add_arguments(certs)

    probe = commands.add_parser(
        "probe",
        help="sign in like Lync and report each step of the logon chain",
        description="Troubleshooting client: signs in to a running rccserver like a Lync client, "
        "reports each step of the logon chain with its Cs_ code and a fix hint, can place a test "
        "call, signs out. Without --line it takes the user's msRTCSIP-Line from the directory of "
        "--config (default: the bundled demo configuration); a user not in the directory, or "
        "without a line, fails there with Cs_UserNotInDirectory or Cs_LineNotAssigned. "
        "Exit 0 when logon works, 1 when it does not, 2 on bad usage or an unreadable "
        "configuration or directory.",
        epilog=_examples(
            "rccserver probe --as sip:alice@example.com --config /etc/rccserver/rccserver.toml",
            "rccserver probe --as sip:alice@example.com --line tel:+1001",
            "rccserver probe --as sip:alice@example.com --line tel:+1001 --call tel:+1002",
            "rccserver probe --as sip:alice@example.com --line tel:+1001 --target rcc.example.com:11001 "
            "--tls --ca ca.pem --cert client.pem --key client.key",
        ),
        formatter_class=_HelpFormatter,
    )
    from rccserver.commands.probe import command as probe_module

    probe_module.add_arguments(probe)

    dialplan = commands.add_parser(
        "dialplan",
        help="test the dial plan: what a dialled number or a DID becomes",
        description="Read NUMBER as the server would (SPEC section 10): which [dialplan] rule "
        "matched (key, pattern, file:line), what came out, its E.164 presentation and where the "
        "call goes with the configured CIC data; --inbound reads it as a trunk call's DID. "
        "Exit 0 when the number goes somewhere, 1 when it is not dialable, 2 when the "
        "configuration or the CIC data cannot be read.",
        epilog=_examples(
            "rccserver dialplan test '9 (317) 555-0188' --config /etc/rccserver/rccserver.toml",
            "rccserver dialplan test tel:+13175551001 --inbound",
        ),
        formatter_class=_HelpFormatter,
    )
    from rccserver.commands import dialplan as dialplan_module

    dialplan_module.add_arguments(dialplan)
    _add_config_option(dialplan)
    return parser


def _normalise_argv(argv: list[str]) -> list[str]:
    # Administrators know the vendor's `-reload` spelling.
    return ["reload" if arg == "-reload" else arg for arg in argv]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(_normalise_argv(list(sys.argv[1:] if argv is None else argv)))
    if args.command == "run":
        from rccserver.server.service import run_server

        return run_server(args.config, log_format=args.log_format)
    if args.command == "reload":
        from rccserver.commands.reloadclient import request_reload

        return request_reload(args.config, timeout=args.timeout)
    if args.command == "check-config":
        return _check_config(args.config)
    if args.command == "probe":
        from rccserver.commands.probe import command as probe_module

        return probe_module.run(args)
    if args.command == "certs":
        from rccserver.commands import certs as certs_module

        return certs_module.run(args)
    if args.command == "dialplan":
        from rccserver.commands import dialplan as dialplan_module

        return dialplan_module.run(args)
    raise AssertionError(f"unhandled command {args.command!r}")


def _check_config(path: str | None) -> int:
    from rccserver.commands.checkconfig import check_config
    from rccserver.server.config import DEFAULT_CONFIG_PATH

    result = check_config(path or DEFAULT_CONFIG_PATH)
    for error in result.errors:
        print(f"error: {error}")
    for warning in result.warnings:
        print(f"warning: {warning}")
    if result.errors:
        print(f"{len(result.errors)} error(s), {len(result.warnings)} warning(s): invalid")
        return EXIT_CONFIG_ERROR
    print(f"configuration valid ({len(result.warnings)} warning(s))")
    return EXIT_OK
