//! The global default: its own test binary, since it is process-wide.

use std::sync::Arc;

use agentio::io::{self, IOBuffer, IOStream};

#[test]
fn set_global_default_reaches_threads_without_a_default_of_their_own() -> agentio::Result<()> {
    let console = io::get_global_default();
    let global = Arc::new(IOBuffer::new());
    let previous = io::set_global_default(global.clone());
    assert!(
        Arc::ptr_eq(&previous, &console),
        "the console was the first global default"
    );

    std::thread::spawn(|| agentio::ioprintln!("from a plain thread"))
        .join()
        .unwrap_or(Err(agentio::Error::InputClosed))?;
    assert_eq!(global.text(), "from a plain thread\n");

    // A thread default still wins over the global one.
    let own = Arc::new(IOBuffer::new());
    io::with_default(own.clone(), || agentio::ioprintln!("own"))?;
    assert_eq!(own.text(), "own\n");
    assert_eq!(global.text(), "from a plain thread\n");

    let restored = io::set_global_default(console.clone());
    assert!(Arc::ptr_eq(&restored, &(global as Arc<dyn IOStream>)));
    assert!(Arc::ptr_eq(&io::get_default(), &console));
    Ok(())
}
