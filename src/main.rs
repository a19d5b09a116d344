fn main() {
    println!("pinpoint-attribution: not yet wired");
}
