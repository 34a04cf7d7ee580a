//! Writes the seed corpora of the fuzz targets: for `decode_frame` a few
//! real frames of every kind of batch and request, encoded as a peer sends
//! them; for `decode_handshake_frame` each handshake frame with its length,
//! and the starts a stranger may send instead (a TLS record, a 4 MiB
//! announcement, a frame cut short).
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```
//!
//! The files (`fuzz/corpus/<target>/seed-*`) are committed; regenerate
//! them after a change to the frame layout (and bump `WIRE_VERSION`).

use spigo_proto::cluster::{
    decode_frame, Envelope, Frame, JoinOrder, LinkDown, MetricsReport, NodeReport, PairReport,
    Reach, Refusal, Reply, Request, Role, ServiceReport, Span, SpanKind, TrafficReport,
};
use spigo_proto::preauth::decode_handshake_frame;
use spigo_proto::latency::LatencyModel;
use spigo_proto::spec::{DependencySpec, InstanceSpec};
use spigo_proto::wire::encode;
use spigo_proto::{
    Address, Exit, Gotocol, GraphEvent, Imposition, Intention, Location, NodeRecord, Package,
    Reason, StampedEvent, Timestamp, TraceContext,
};
use std::path::PathBuf;
use std::time::Duration;

fn record(a: Address) -> NodeRecord {
    NodeRecord {
        id: a,
        name: "netflixoss.us-east-1.zoneA.homepage.karyon.homepage0.homepage.karyon".into(),
        package: "karyon".into(),
        metadata: "IP/54.198.0.7".into(),
        location: Location::new(0, 0),
    }
}

fn frames() -> Vec<(&'static str, Frame)> {
    let a = Address::new(1, 7);
    let b = Address::new(2, 300);
    let msg = |imp, intention| Gotocol::new(imp, Some(a), Timestamp(1_700_000_000_000), intention);
    let messages = vec![
        msg(Imposition::Hello, Intention::Text("pirate07".into())),
        msg(Imposition::GoldCoin, Intention::Gold(42)),
        msg(
            Imposition::Chat,
            Intention::Interval(Duration::from_millis(2500)),
        ),
        msg(
            Imposition::GetRequest,
            Intention::Text("a key longer than twenty-four bytes".into()),
        )
        .with_ctx(TraceContext {
            trace: 9,
            parent: 3,
            span: 4,
        })
        .from_location(Location::new(1, 2)),
        msg(
            Imposition::GetResponse,
            Intention::Poll {
                service: "homepage".into(),
                zone: Some(1),
                since: 77,
            },
        ),
        msg(
            Imposition::NameDrop,
            Intention::Instance {
                service: "www-elb".into(),
                location: Location::GLOBAL,
            },
        ),
        msg(
            Imposition::Put,
            Intention::Pair(Box::new(["key9".into(), "remember me".into()])),
        ),
        msg(
            Imposition::Inform,
            Intention::Event(GraphEvent::Edge {
                source: a,
                target: b,
            }),
        ),
        msg(Imposition::Goodbye, Intention::Exit(Exit::ChaosMonkey)),
        msg(Imposition::GetResponse, Intention::Failed(Reason::HopLimit)).with_hops(33),
        Gotocol::new(Imposition::Delete, None, Timestamp(0), Intention::None),
    ];
    let events = [
        GraphEvent::Node(Box::new(record(a))),
        GraphEvent::Edge {
            source: a,
            target: b,
        },
        GraphEvent::Forget {
            source: a,
            target: b,
        },
        GraphEvent::Done {
            id: b,
            exit: Exit::NodeLost,
        },
    ];
    let ms = Duration::from_micros;
    vec![
        (
            "messages",
            Frame::Messages(
                messages
                    .into_iter()
                    .enumerate()
                    .map(|(i, msg)| Envelope {
                        to: Address::new(2, i as u32),
                        msg,
                    })
                    .collect(),
            ),
        ),
        (
            "events",
            Frame::Events(
                events
                    .into_iter()
                    .enumerate()
                    .map(|(i, event)| StampedEvent {
                        time: Timestamp(1_700_000_000_000 + i as u64),
                        event,
                    })
                    .collect(),
            ),
        ),
        (
            "spans",
            Frame::Spans(vec![Span {
                trace: 9,
                id: 4,
                parent: 3,
                kind: SpanKind::Server,
                name: "getrequest".into(),
                service: "homepage".into(),
                instance: "homepage0".into(),
                ipv4: Some([54, 198, 0, 7]),
                start_us: 1_700_000_000,
                duration_us: 1234,
            }]),
        ),
        (
            "join",
            Frame::Request {
                id: 1,
                body: Request::Join(JoinOrder {
                    node: 2,
                    msglog: false,
                    peers: vec![(1, "127.0.0.1:7001".into()), (3, "[::1]:7003".into())],
                    latency: Some(LatencyModel {
                        intra_zone_rtt: ms(450),
                        cross_zone_rtt: ms(1300),
                        rtt: vec![vec![ms(0), ms(87_000)], vec![ms(87_000), ms(0)]],
                        jitter: 0.25,
                    }),
                    seed: 7,
                    collect: Some(0.1),
                    heartbeat_timeout: Duration::from_secs(10),
                }),
            },
        ),
        (
            "spawn",
            Frame::Request {
                id: 2,
                body: Request::SpawnInstances(vec![InstanceSpec {
                    record: record(a),
                    package: Package::Karyon,
                    service: "homepage".into(),
                    dependencies: vec![DependencySpec {
                        service: "cassandra".into(),
                        package: Package::PriamCassandra,
                    }],
                    registries: vec![Address::new(1, 1), Address::new(2, 1)],
                    eureka_poll: Duration::from_secs(1),
                    cross_region: true,
                    seed: 11,
                    hop_limit: 32,
                    traffic: None,
                    work: Some(Box::new(spigo_proto::work::Work {
                        service_time: spigo_proto::work::ServiceTime::LogNormal {
                            mean: Duration::from_millis(5),
                            p99: Duration::from_millis(50),
                        },
                        concurrency: Some(4),
                        queue: Some(10),
                    })),
                    calls: Some(Box::new(spigo_proto::resilience::Calls {
                        all: Some(spigo_proto::resilience::Resilience {
                            timeout: Some(Duration::from_millis(100)),
                            retries: 1,
                            backoff: Some(spigo_proto::resilience::Backoff::Jittered(
                                Duration::from_millis(10),
                            )),
                            breaker: Some(spigo_proto::resilience::BREAKER_DEFAULT),
                            fallback: spigo_proto::resilience::Fallback::Cache,
                        }),
                        per: Vec::new(),
                    })),
                }]),
            },
        ),
        (
            "flushed",
            Frame::Reply {
                id: 3,
                body: Reply::Flushed(Box::new(NodeReport {
                    events_sent: 10,
                    edges_made: 4,
                    edges_forgotten: 1,
                    undeliverable: 0,
                    refused: 2,
                    messages_in: 1000,
                    messages_out: 999,
                    latency: vec![PairReport {
                        from: 0,
                        to: 1,
                        reach: Reach::Region,
                        model_us: 43_500,
                        late: 3,
                        delay: vec![(43_600, 10), (44_000, 2)],
                    }],
                    metrics: Box::new(MetricsReport {
                        delivered: 1000,
                        traffic: TrafficReport {
                            requests: 5,
                            gets: 4,
                            responses: 3,
                            hits: 3,
                            latency: vec![(120, 4), (900, 1)],
                            failed: vec![(Reason::HopLimit, 1)],
                            puts_delivered: 1,
                            puts_failed: vec![(Reason::Shed, 1)],
                            puts_forked: 1,
                        },
                        services: vec![ServiceReport {
                            service: "homepage".into(),
                            region: 0,
                            requests: 6,
                            delivery: vec![(50, 3)],
                            service_time: vec![(10, 3)],
                            response: vec![(200, 3)],
                        }],
                    }),
                    peak_rss: 64 << 20,
                    // Figures added later keep their defaults here.
                    ..NodeReport::default()
                })),
            },
        ),
        (
            "link-down",
            Frame::LinkDown(LinkDown {
                from: 1,
                to: 2,
                undeliverable: 1429,
                silent_ms: 10_250,
            }),
        ),
        (
            "hello",
            Frame::Hello {
                role: Role::Node(3),
                name: "node3".into(),
            },
        ),
    ]
}

/// Handshake frames with their lengths, as a link's first bytes, and the
/// other starts a node meets before the cookie is proved.
fn handshake_seeds() -> Result<Vec<(&'static str, Vec<u8>)>, Box<dyn std::error::Error>> {
    let frames = [
        (
            "hello",
            Frame::Hello {
                role: Role::Coordinator,
                name: "coordinator@10.0.0.1".into(),
            },
        ),
        ("challenge", Frame::Challenge { nonce: [7; 32] }),
        (
            "proof",
            Frame::Proof {
                mac: vec![0xab; 32],
                nonce: [9; 32],
            },
        ),
        (
            "welcome",
            Frame::Welcome {
                mac: vec![0xcd; 32],
                name: "east".into(),
            },
        ),
        (
            "refused",
            Frame::Refused {
                reason: Refusal::WrongCookie,
            },
        ),
    ];
    let mut seeds = Vec::new();
    for (name, frame) in frames {
        let body = encode(&frame)?;
        let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
        bytes.extend(body);
        assert_eq!(
            decode_handshake_frame(&bytes)?,
            (frame, bytes.len()),
            "seed {name} does not decode"
        );
        seeds.push((name, bytes));
    }
    let hello = seeds[0].1.clone();
    // A TLS ClientHello's record header, a 4 MiB announcement and one
    // byte, and a Hello cut short.
    seeds.push(("tls", vec![0x16, 0x03, 0x01, 0x00, 0xf4, 0x01, 0x00, 0x00]));
    seeds.push(("oversize", vec![0x00, 0x40, 0x00, 0x00, 0x01]));
    seeds.push(("short", hello[..hello.len() - 3].to_vec()));
    Ok(seeds)
}

/// Writes `seeds` as `corpus/<target>/seed-<name>`.
fn write(target: &str, seeds: Vec<(&str, Vec<u8>)>) -> std::io::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir)?;
    for (name, bytes) in seeds {
        let path = dir.join(format!("seed-{name}"));
        std::fs::write(&path, &bytes)?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut seeds = Vec::new();
    for (name, frame) in frames() {
        let bytes = encode(&frame)?;
        assert_eq!(
            decode_frame(&bytes)?,
            frame,
            "seed {name} does not round-trip"
        );
        seeds.push((name, bytes));
    }
    write("decode_frame", seeds)?;
    write("decode_handshake_frame", handshake_seeds()?)?;
    Ok(())
}
