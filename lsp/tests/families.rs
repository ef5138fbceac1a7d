//! Destination families in the editor (LANGUAGE.md §4.3): completion after
//! `emit` offers the family, not its members; hover shows its declaration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use canon_lsp::analysis::Workspace;
use canon_lsp::completion::CompletionKind;

const TEXT: &str = "enum Entity { EU, US }\nrecord Line { amount: Decimal }\nevent E as \"e\" {\n  entity: Entity\n}\ndestination erp[Entity]: Line\ndestination audit: Line\n\non E as e {\n  emit erp[e.entity] Line { amount: 1 }\n  emit \n}\n";

#[test]
fn completion_and_hover_of_a_destination_family() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("a.canon"), TEXT).unwrap();
    let mut ws = Workspace::new();
    ws.load_root(dir);
    let key = ws.key_of(&dir.join("a.canon"));
    let after_emit = TEXT.find("  emit \n").unwrap() + "  emit ".len();
    let dests: Vec<(String, Option<String>)> = ws
        .completion(&key, after_emit as u32)
        .into_iter()
        .filter(|c| c.kind == CompletionKind::Destination)
        .map(|c| (c.label, c.detail))
        .collect();
    let labels: Vec<&str> = dests.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["audit", "erp"], "{dests:?}");
    assert_eq!(dests[1].1.as_deref(), Some("destination erp[Entity]: Line"));
    // Hover, in the package once the unfinished `emit` is gone.
    let valid = TEXT.replace("  emit \n", "");
    std::fs::write(dir.join("a.canon"), &valid).unwrap();
    let mut ws = Workspace::new();
    ws.load_root(dir);
    let key = ws.key_of(&dir.join("a.canon"));
    let on_erp = valid.find("emit erp[").unwrap() + "emit ".len() + 1;
    let (hover, _) = ws.hover(&key, on_erp as u32).expect("a hover on the family");
    assert!(hover.contains("destination erp[Entity]: Line"), "{hover}");
    assert!(hover.contains("Members: `erp.EU`, `erp.US`"), "{hover}");
}
