mod render_support;

use render_support::*;

#[test]
fn smoke() {
    let stack = render_yaml(&environment_yaml("tags:\n  team: R&D <growth> \"team\"\n", ""));
    println!("{}", stack.template);
    let _ = parse(&stack.template);
}
