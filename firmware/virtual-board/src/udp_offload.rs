//! The board's UDP sockets have no segmentation offload: lwIP knows neither UDP GSO nor GRO.
//!
//! On Linux noq-udp turns both on when the kernel has them, and then sizes its receive buffer
//! for 64 coalesced datagrams per slot (about 3 MiB), where the ESP32 build holds one datagram.
//! This `setsockopt` takes the place of the C library's in this program and refuses the two
//! options, as a kernel without them would (ENOPROTOOPT); noq-udp then falls back to one
//! datagram per segment, as on the board. Every other option goes to the kernel unchanged.

use nix::libc::{self, c_int, c_void, socklen_t};

#[unsafe(no_mangle)]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: socklen_t,
) -> c_int {
    if level == libc::SOL_UDP && (name == libc::UDP_GRO || name == libc::UDP_SEGMENT) {
        // SAFETY: errno is this thread's.
        unsafe { *libc::__errno_location() = libc::ENOPROTOOPT };
        return -1;
    }
    // SAFETY: the caller's arguments, passed to the system call the C library would make.
    unsafe { libc::syscall(libc::SYS_setsockopt, fd, level, name, value, len) as c_int }
}

#[cfg(test)]
mod tests {
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    use super::*;

    fn set(socket: &UdpSocket, level: c_int, name: c_int, value: c_int) -> std::io::Result<()> {
        // SAFETY: a live socket and a c_int option value.
        let rc = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                level,
                name,
                (&value as *const c_int).cast(),
                size_of::<c_int>() as socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    #[test]
    fn gso_and_gro_are_refused_everything_else_passes() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        for name in [libc::UDP_GRO, libc::UDP_SEGMENT] {
            let err = set(&socket, libc::SOL_UDP, name, 1).unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ENOPROTOOPT));
        }
        set(&socket, libc::SOL_SOCKET, libc::SO_RCVBUF, 65536).unwrap();
        set(&socket, libc::IPPROTO_IP, libc::IP_PKTINFO, 1).unwrap();
    }
}
