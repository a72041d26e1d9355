//! `wa`: the whatsmeow-rs command line.

fn main() {
    println!("wa: no commands yet");
}
