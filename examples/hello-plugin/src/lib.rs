use kiln_sdk::prelude::*;
struct TeamLabel;
impl Plugin for TeamLabel {
    fn render(req: Request) -> Result<Response, Error> {
        let team: String = req.config("team")?;
        let out = req
            .resources
            .into_iter()
            .map(|r| r.with_label("team", &team));
        Ok(Response::new(out.collect()))
    }
}
export!(TeamLabel);
