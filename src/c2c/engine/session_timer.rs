//! Session timers (RFC 4028) of each leg. A leg's session has an interval; whoever the
//! last 2xx named refreshes it, with a re-INVITE at half the interval (§10). When the phone
//! is the refresher we watch for its refresh and end the leg with BYE slightly before the
//! session would expire; when we are, a refresh that fails only its transaction is tried
//! again while time is left, and the session ends when it runs out.

use std::time::{Duration, Instant};

use super::{Engine, Redo, SessionId};
use crate::c2c::command::Role;
use crate::sip::msg::{Message, Refresher};
use crate::ua::dialog::{MIN_SE, ends_dialog};

/// A refresh that falls due while another INVITE of ours is out in the dialog (RFC 3261
/// §14.1 allows one at a time) waits this long and is tried again, not dropped.
const REFRESH_POSTPONE: Duration = Duration::from_secs(2);
/// A refresh that failed only its transaction (e.g. 488, 500) is tried again halfway to
/// the session's end, unless less than this is left: then the session expires.
const MIN_RETRY: Duration = Duration::from_secs(1);

/// RFC 4028 §10: the side that does not refresh sends its BYE slightly before the session
/// expires, the minimum of 32 s and a third of the interval before it.
fn expiry_margin(interval: u32) -> Duration {
    Duration::from_secs(u64::from((interval / 3).min(32)))
}

impl Engine {
    /// Puts the leg's session timer in force for `interval` seconds from `now`, replacing
    /// whatever was armed. With us as refresher: the refresh at half the interval and the
    /// end of the session as a guard; with the phone as refresher: the BYE before expiry.
    pub(super) fn arm_session_timer(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Role,
        interval: Option<u32>,
        we_refresh: bool,
    ) {
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        let old = (slot.refresh_at.take(), slot.expires_at.take());
        let (refresh, expires) = match interval {
            Some(secs) if we_refresh => {
                let full = Duration::from_secs(u64::from(secs));
                (Some(now + full / 2), Some(now + full))
            }
            Some(secs) => (
                None,
                Some(now + Duration::from_secs(u64::from(secs)) - expiry_margin(secs)),
            ),
            None => (None, None),
        };
        slot.refresh_at = refresh;
        slot.expires_at = expires;
        if let Some(t) = old.0 {
            self.reinvites_due.remove(&(t, sid, leg, Redo::Refresh));
        }
        if let Some(t) = old.1 {
            self.reinvites_due.remove(&(t, sid, leg, Redo::Expire));
        }
        if let Some(t) = refresh {
            self.reinvites_due.insert((t, sid, leg, Redo::Refresh));
        }
        if let Some(t) = expires {
            self.reinvites_due.insert((t, sid, leg, Redo::Expire));
        }
    }

    /// A 2xx to an INVITE of ours sets the session timer (RFC 4028 §7.2); `refresher=uac`
    /// makes us the refresher, `uas` the phone. Without Session-Expires no timer runs.
    pub(super) fn schedule_refresh(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Role,
        resp: &Message,
    ) {
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        let se = resp.session_expires().ok().flatten();
        let interval = slot
            .sip
            .set_session_interval(se.as_ref().map(|se| se.delta));
        match se.and_then(|se| se.refresher) {
            Some(refresher) => {
                self.arm_session_timer(now, sid, leg, interval, refresher == Refresher::Uac)
            }
            // §7.2: a 2xx with Session-Expires names the refresher; one that does not is
            // not relied on either way (as before: no refresh, no expiry).
            None => self.arm_session_timer(now, sid, leg, None, false),
        }
    }

    /// A refresh fell due while another INVITE of ours is pending in the dialog.
    pub(super) fn postpone_refresh(&mut self, now: Instant, sid: SessionId, leg: Role) {
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        let at = now + REFRESH_POSTPONE;
        slot.refresh_at = Some(at);
        self.reinvites_due.insert((at, sid, leg, Redo::Refresh));
    }

    /// Our refresh got a final failure. RFC 4028 §10: 408, 481 (and the other
    /// dialog-ending codes of RFC 5057 §5.1) mean the session is gone: the leg ends. 422
    /// asks for a longer interval (§7.4): the refresh goes again at once with the peer's
    /// Min-SE. Anything else fails only the transaction (a phone answering 488 or 500 still
    /// has the call): the refresh is tried again halfway to the session's end.
    pub(super) fn refresh_failed(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Role,
        code: u16,
        resp: &Message,
    ) {
        if ends_dialog(code) {
            self.end_dialog(now, sid, leg, code);
            return;
        }
        let Some(slot) = self.slot_mut(sid, leg) else {
            return;
        };
        if code == 422
            && let Ok(Some(min_se)) = resp.min_se()
        {
            slot.sip.raise_min_se(min_se);
            log::info!(target: "c2c", "click-to-call {sid}: the {} wants a session interval of at least {min_se} s: refreshing again", leg.as_str());
            slot.refresh_at = Some(now);
            self.reinvites_due.insert((now, sid, leg, Redo::Refresh));
            return;
        }
        let Some(expires) = slot.expires_at else {
            return;
        };
        let retry = now + (expires.saturating_duration_since(now)) / 2;
        if retry.saturating_duration_since(now) >= MIN_RETRY {
            log::info!(target: "c2c", "click-to-call {sid}: session refresh to the {} refused ({code}): trying again", leg.as_str());
            slot.refresh_at = Some(retry);
            self.reinvites_due.insert((retry, sid, leg, Redo::Refresh));
        }
    }

    /// The session of the leg expired without a refresh (RFC 4028 §10): BYE.
    pub(super) fn session_expired(&mut self, now: Instant, sid: SessionId, leg: Role) {
        if let Some(slot) = self.slot_mut(sid, leg) {
            slot.expires_at = None;
        }
        log::info!(target: "c2c", "click-to-call {sid}: the {}'s session expired without a refresh", leg.as_str());
        self.end_dialog(now, sid, leg, 408);
    }

    /// The phone's re-INVITE or UPDATE asked for a session timer (RFC 4028 §9): a 2xx of
    /// ours names the interval and the refresher (the phone, unless it asked us) with
    /// `Require: timer` when it supports timers, and puts the timer in force. (An interval
    /// below our Min-SE never gets here: see [`too_small`].)
    pub(super) fn answer_session_timer(
        &mut self,
        now: Instant,
        sid: SessionId,
        leg: Role,
        req: &Message,
        resp: &mut Message,
    ) {
        let Some(se) = req.session_expires().ok().flatten() else {
            return;
        };
        let we_refresh = se.refresher == Some(Refresher::Uas);
        let refresher = if we_refresh { "uas" } else { "uac" };
        resp.push_header(
            "Session-Expires",
            &format!("{};refresher={refresher}", se.delta),
        );
        if req.has_token("Supported", "timer") {
            resp.push_header("Require", "timer");
        }
        let interval = self
            .slot_mut(sid, leg)
            .and_then(|slot| slot.sip.set_session_interval(Some(se.delta)));
        self.arm_session_timer(now, sid, leg, interval, we_refresh);
    }
}

/// The 422 for a phone's request whose Session-Expires is below our Min-SE (RFC 4028 §9),
/// or `None` when it is acceptable or absent.
pub(super) fn too_small(req: &Message) -> Option<u32> {
    let se = req.session_expires().ok().flatten()?;
    (se.delta < MIN_SE).then_some(MIN_SE)
}
